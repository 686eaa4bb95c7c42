#!/usr/bin/env bash
# One-command set-up of the service-desk robot on a fresh Debian 12 machine (idempotent).
#
#   1. Debian packages (apt-get), only those missing.
#   2. .venv with ROS 2 Jazzy wheels and every Python dependency, at pinned versions.
#   3. The interface package (interfaces/) generated with rosidl and installed into .venv.
#   4. This package installed editable, plus the ament index entries that `ros2 launch`
#      and $(find-pkg-share ...) expect (share/ and lib/ under the .venv prefix).
#
# Each step writes a stamp holding a hash of its inputs; a second run skips what is done.
# Set SERVICE_DESK_SKIP_APT=1 to skip step 1 (a machine without root, already provisioned).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
stamps="$venv/.stamps"
python="${PYTHON:-python3}"

APT_PACKAGES=(
  cmake build-essential          # interface generation
  espeak-ng libespeak-ng1        # pyttsx3 voices (vi, en)
  alsa-utils                     # aplay, to play synthesised speech on the robot
  libportaudio2                  # sounddevice (microphone)
  fonts-dejavu-core              # ticket text rendered with Pillow
  socat                          # serial pty pairs for the dispenser emulator
  ignition-tools libsdformat-dev # `ign sdf -k` validates the lobby world
  chromium chromium-driver       # browser tests of the robot's screen
)

step() { printf '\n==> %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
stamp_ok() { [[ -f "$stamps/$1" && "$(cat "$stamps/$1")" == "$2" ]]; }
stamp_write() { mkdir -p "$stamps"; echo "$2" > "$stamps/$1"; }

# --- 1. Debian packages --------------------------------------------------------------
if [[ "${SERVICE_DESK_SKIP_APT:-0}" != 1 ]]; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    sudo_cmd=(); [[ $(id -u) == 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    step "Debian packages: all present"
  fi
fi

# --- 2. Python venv ---------------------------------------------------------------------
if [[ ! -x "$venv/bin/python" ]]; then
  step "creating $venv"
  "$python" -m venv "$venv"
fi
req_hash=$(hash_of "$repo/requirements/requirements.txt" "$repo/requirements/constraints.txt")
if ! stamp_ok python-packages "$req_hash"; then
  step "installing Python packages into .venv (ROS 2 Jazzy wheels, vision, speech, printer; about 1-2 min)"
  "$venv/bin/python" -m pip install --progress-bar on --upgrade "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"
  "$venv/bin/python" -m pip install --progress-bar on \
    -r "$repo/requirements/requirements.txt" -c "$repo/requirements/constraints.txt"
  stamp_write python-packages "$req_hash"
else
  step "Python packages: up to date"
fi

# --- 3. Interfaces ----------------------------------------------------------------------
iface_hash=$(hash_of "$repo"/interfaces/CMakeLists.txt "$repo"/interfaces/package.xml \
  "$repo"/interfaces/msg/* "$repo"/interfaces/srv/* "$repo"/interfaces/action/* "$0")
if ! stamp_ok interfaces "$iface_hash$req_hash"; then
  step "generating service_desk_interfaces with rosidl (about 30 s)"
  # The wheels' CMake exports hard-code the wheel build machine's Python include folders.
  py_include=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  np_include=$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')
  { grep -rlE '/opt/python/cp311-cp311' "$venv/share" --include='*.cmake' 2>/dev/null || true; } | while read -r f; do
    sed -i -E \
      -e "s#/opt/python/cp311-cp311/lib/python3\.11/site-packages/numpy/(_core|core)/include#$np_include#g" \
      -e "s#/opt/python/cp311-cp311/include/python3\.11#$py_include#g" "$f"
  done
  build="$venv/build/service_desk_interfaces"
  rm -rf "$build"; mkdir -p "$build"
  (
    cd "$build"
    export AMENT_PREFIX_PATH="$venv"
    cmake "$repo/interfaces" -DCMAKE_PREFIX_PATH="$venv" -DCMAKE_INSTALL_PREFIX="$venv" \
      -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
      > cmake.log 2>&1 || { cat cmake.log; exit 1; }
    # Progress: one line per tenth of the build.
    if ! make -j"$(nproc)" install > make.log 2>&1; then tail -40 make.log; exit 1; fi
    grep -E '^\[ *[0-9]+%\]' make.log | awk -F'[][%]' '$2 % 10 == 0 && !seen[$2]++ {print "   " $2 "%"}'
  )
  AMENT_PREFIX_PATH="$venv" "$venv/bin/python" -c \
    'from service_desk_interfaces.msg import Ticket; from service_desk_interfaces.action import Dispense'
  stamp_write interfaces "$iface_hash$req_hash"
else
  step "service_desk_interfaces: up to date"
fi

# --- 4. This package --------------------------------------------------------------------
pkg_hash=$(hash_of "$repo/setup.py" "$repo/setup.cfg" "$repo/package.xml")
if ! stamp_ok package "$pkg_hash$req_hash"; then
  step "installing service_desk_robot (editable)"
  "$venv/bin/python" -m pip install --no-deps --no-build-isolation -q -e "$repo"
  stamp_write package "$pkg_hash$req_hash"
else
  step "service_desk_robot: up to date"
fi
# The ament index entries a ROS 2 install would have, pointing into this checkout
# (like `colcon build --symlink-install`): cheap, so always refreshed.
"$venv/bin/python" -m service_desk_robot.install_index "$repo" "$venv"

step "set-up complete: $venv"
