"""Parameter defaults of every node: the one place that finds the config folder and
reads config/<node>.yaml, plus `Parameters`, which declares each parameter with its YAML
default and a description.

The YAML file is the one place defaults live; `--ros-args --params-file` or
parameter_overrides still win, as for any declared parameter. Plain functions, no state:
safe from any thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

PACKAGE = "service_desk_robot"
CHECKOUT_CONFIG = Path(__file__).resolve().parent.parent / "config"


def config_dir() -> Path:
    """The installed share folder's config/ when the package is installed, else this checkout's."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        installed = Path(get_package_share_directory(PACKAGE)) / "config"
        if installed.is_dir():
            return installed
    except (ImportError, PackageNotFoundError):
        pass  # running from a checkout without an install: its own config/
    return CHECKOUT_CONFIG


def config_file(node_name: str) -> Path:
    """config/<node>.yaml in `config_dir()`."""
    return config_dir() / f"{node_name}.yaml"


def yaml_defaults(node_name: str) -> dict[str, Any]:
    """The `ros__parameters` of `node_name` in its config/<node>.yaml."""
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
