"""ament_python package of the service-desk robot.

The Python code lives in folders at the repository root (robot/, speech/, printer/,
nodes/, sim/) so that a path tells what a file is; they install as subpackages of
`service_desk_robot` (e.g. robot/outbox.py is `service_desk_robot.robot.outbox`).
"""

from pathlib import Path

from setuptools import setup

PACKAGE = "service_desk_robot"
ROOT = Path(__file__).parent
# Folder at the repository root -> subpackage of service_desk_robot.
SUBPACKAGE_FOLDERS = ("robot", "speech", "printer", "nodes", "sim")

# One console script per ROS node (ROS executables, also installed under lib/<package>).
NODES = (
    "camera",
    "face_detector",
    "asr",
    "tts",
    "dialogue",
    "ward_office_bridge",
    "ticket_printer",
    "dispenser",
    "screen",
    "sim_camera",
)


def _packages() -> tuple[list[str], dict[str, str]]:
    packages, package_dir = [PACKAGE], {PACKAGE: PACKAGE}
    for folder in SUBPACKAGE_FOLDERS:
        package_dir[f"{PACKAGE}.{folder}"] = folder
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT)
            packages.append(".".join((PACKAGE, *relative.parts)))
    for init in sorted((ROOT / PACKAGE).rglob("__init__.py")):
        if init.parent != ROOT / PACKAGE:
            packages.append(".".join(init.parent.relative_to(ROOT).parts))
    return packages, package_dir


def _data_files() -> list[tuple[str, list[str]]]:
    share = f"share/{PACKAGE}"
    files = [
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (share, ["package.xml"]),
    ]
    for folder in ("launch", "config", "sim/scenarios", "sim/worlds"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
                files.append((f"{share}/{path.parent.relative_to(ROOT)}", [str(path.relative_to(ROOT))]))
    return files


packages, package_dir = _packages()

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=packages,
    package_dir=package_dir,
    include_package_data=True,
    package_data={"": ["*.yaml", "*.html", "*.js", "*.css", "*.json", "*.sdf", "*.md"]},
    data_files=_data_files(),
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="Service desk robot maintainers",
    maintainer_email="maintainers@service-desk-robot.invalid",
    description="ROS 2 controller of a ward office service-desk robot",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "service-desk-robot = service_desk_robot.cli:main",
            *(f"{node} = {PACKAGE}.nodes.{node}:main" for node in NODES),
        ],
    },
)
