"""A temporary ament prefix holding package `demo_pkg`, whose executables are the
scripts of this folder, laid out as a ROS 2 install is (lib/<pkg>/<exec>, the ament
index marker, share/<pkg>/launch)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent
PACKAGE = "demo_pkg"
EXECUTABLES = ("talker", "listener", "echo_params", "crasher", "stubborn")


def make_demo_prefix(root: Path) -> dict[str, str]:
    """Build the prefix under `root`; return this process's environment extended with it."""
    lib = root / "lib" / PACKAGE
    lib.mkdir(parents=True)
    for name in EXECUTABLES:
        wrapper = lib / name
        # exec: the process the runner starts is the Python interpreter itself.
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FIXTURES / name}.py" "$@"\n')
        wrapper.chmod(0o755)
    marker = root / "share/ament_index/resource_index/packages" / PACKAGE
    marker.parent.mkdir(parents=True)
    marker.touch()
    share = root / "share" / PACKAGE
    (share / "launch").mkdir(parents=True)
    for launch_file in FIXTURES.glob("*.launch.xml"):
        shutil.copy(launch_file, share / "launch" / launch_file.name)
    shutil.copy(FIXTURES / "echo_params.yaml", share / "echo_params.yaml")
    env = dict(os.environ)
    env["AMENT_PREFIX_PATH"] = os.pathsep.join([str(root), env.get("AMENT_PREFIX_PATH", "")]).rstrip(
        os.pathsep
    )
    return env
