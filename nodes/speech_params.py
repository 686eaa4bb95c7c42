"""Parameters of the speech nodes (asr, tts): defaults from config/<node>.yaml, each
declared with a description.

The YAML file is the one place defaults live; `--ros-args --params-file` or
parameter_overrides still win, as for any declared parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

PACKAGE = "service_desk_robot"


def config_file(node_name: str) -> Path:
    """config/<node>.yaml from the package's share folder, or from this checkout."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        try:
            path = Path(get_package_share_directory(PACKAGE)) / "config" / f"{node_name}.yaml"
            if path.is_file():
                return path
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return Path(__file__).resolve().parent.parent / "config" / f"{node_name}.yaml"


def yaml_defaults(node_name: str) -> dict[str, Any]:
    data = yaml.safe_load(config_file(node_name).read_text(encoding="utf-8")) or {}
    return dict(data.get(node_name, {}).get("ros__parameters", {}))


class Parameters:
    """`params.get(name, description)`: declare `name` with its YAML default and read it."""

    def __init__(self, node: Node, defaults: dict[str, Any]) -> None:
        self._node = node
        self._defaults = defaults

    def get(self, name: str, description: str, *, read_only: bool = True) -> Any:
        descriptor = ParameterDescriptor(description=description, read_only=read_only)
        return self._node.declare_parameter(name, self._defaults[name], descriptor).value
