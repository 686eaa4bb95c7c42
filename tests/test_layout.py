"""The layout rules of CONTRIBUTING.md that a machine can check."""

import ast
from pathlib import Path

import pytest

CORE_FOLDERS = ("robot", "speech", "printer", "sim")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("folder", CORE_FOLDERS)
def test_cores_never_import_ros(repo, folder):
    offenders = []
    for path in sorted((repo / folder).rglob("*.py")):
        ros = {
            m
            for m in _imported_modules(path)
            if m.split(".")[0] in {"rclpy", "service_desk_interfaces", "std_msgs", "sensor_msgs"}
            or m.startswith("service_desk_robot.nodes")
        }
        if ros:
            offenders.append(f"{path.relative_to(repo)}: {sorted(ros)}")
    assert not offenders, "core modules import ROS:\n" + "\n".join(offenders)


def test_every_node_console_script_has_a_module(repo):
    from importlib.metadata import distribution

    scripts = [ep for ep in distribution("service_desk_robot").entry_points if ep.group == "console_scripts"]
    missing = []
    for ep in scripts:
        module = ep.value.split(":")[0]
        relative = module.removeprefix("service_desk_robot.").replace(".", "/") + ".py"
        candidates = [repo / relative, repo / "service_desk_robot" / relative]
        if not any(c.exists() for c in candidates):
            missing.append(f"{ep.name} -> {module}")
    assert not missing, f"console scripts without a module: {missing}"
