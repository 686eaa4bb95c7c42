"""`service-desk-robot`: one entry point, one subcommand per module in `commands/`.

A command module defines HELP (one line), `configure(parser)` and `run(args) -> int`, and
imports heavy dependencies (rclpy, cv2, vosk) inside `run` so that `--help` stays fast.
The ROS environment of the run is prepared here, before any command can start DDS.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from service_desk_robot import commands, ros_env


def _command_modules() -> dict[str, ModuleType]:
    modules = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        modules[info.name.replace("_", "-")] = importlib.import_module(f"{commands.__name__}.{info.name}")
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="service-desk-robot",
        description="Service-desk robot of a Hanoi ward office: run, simulate, test and maintain it.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in _command_modules().items():
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ros_env.prepare_run()
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
