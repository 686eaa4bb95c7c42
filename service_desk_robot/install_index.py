"""Write the ament index entries of a ROS 2 install for the editable package in a venv.

`ros2 launch`, $(find-pkg-share ...) and our launch runner find a package's files under
`<prefix>/share/<package>` and its executables under `<prefix>/lib/<package>`. pip's
editable install puts console scripts in `<venv>/bin` instead, so this links them, like
`colcon build --symlink-install`. Run by scripts/setup.sh:

    python -m service_desk_robot.install_index REPO VENV
"""

from __future__ import annotations

import sys
from importlib.metadata import distribution
from pathlib import Path

PACKAGE = "service_desk_robot"
SHARED_FOLDERS = ("launch", "config", "sim/scenarios", "sim/worlds")


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        if link.is_symlink() and link.resolve() == target.resolve():
            return
        link.unlink()
    link.symlink_to(target)


def install_index(repo: Path, prefix: Path) -> list[str]:
    """Create the index entries and return the executables linked under lib/<package>."""
    marker = prefix / "share/ament_index/resource_index/packages" / PACKAGE
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    share = prefix / "share" / PACKAGE
    _link(share / "package.xml", repo / "package.xml")
    for folder in SHARED_FOLDERS:
        if (repo / folder).is_dir():
            _link(share / folder, repo / folder)
    executables = sorted(
        ep.name for ep in distribution(PACKAGE).entry_points if ep.group == "console_scripts"
    )
    for name in executables:
        _link(prefix / "lib" / PACKAGE / name, prefix / "bin" / name)
    return executables


def main() -> int:
    repo, prefix = (Path(arg).resolve() for arg in sys.argv[1:3])
    linked = install_index(repo, prefix)
    print(f"ament index: {PACKAGE} in {prefix} ({len(linked)} executables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
