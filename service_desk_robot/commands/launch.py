"""`service-desk-robot launch`: run a ROS 2 XML launch file where only wheels exist.

    service-desk-robot launch launch/sim.launch.xml use_sim:=true
    service-desk-robot launch service_desk_robot sim.launch.xml     # like `ros2 launch PKG FILE`

Exit codes: 0 after Ctrl-C / SIGTERM (every child stopped) or when every process ended
cleanly by itself; 1 when a process without respawn died with an error and none is left;
2 when the file is wrong (nothing is started then). The main thread waits; the signal
handlers only set a flag.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

HELP = "run a ROS 2 XML launch file: launch FILE [name:=value ...] or launch PKG FILE [name:=value ...]"
EXIT_FILE_ERROR = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="+",
        metavar="[PKG] FILE [name:=value ...]",
        help="a launch file path, or a package and a launch file name in its share folder, then arguments",
    )
    parser.add_argument("-s", "--show-args", action="store_true", help="list the file's arguments and exit")
    parser.add_argument(
        "-p",
        "--print",
        action="store_true",
        help="print the command of every process and exit, starting none",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="wait this long after SIGINT, then after SIGTERM, before escalating (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    from service_desk_robot.launching import LaunchError, LaunchRunner

    try:
        path, arguments = _parse_target(args.target)
        runner = LaunchRunner(path, arguments, sigint_timeout_s=args.grace, sigterm_timeout_s=args.grace)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FILE_ERROR
    description = runner.description
    for name in sorted(set(arguments) - description.declared):
        print(f"warning: argument '{name}' is not declared by {path} or its includes", file=sys.stderr)
    if args.show_args:
        for argument in description.arguments:
            default = "(required)" if argument.default is None else f"default: {argument.default!r}"
            print(f"{argument.name}  {default}\n    {argument.description or '(no description)'}")
        return 0
    if args.print:
        for process in description.processes:
            print(f"[{process.label}] {shlex.join(process.cmd)}")
        return 0

    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        if not stop_requested.is_set():
            print(f"[launch] {signal.Signals(signum).name} received: stopping every process", file=sys.stderr)
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.start()
        while not stop_requested.is_set() and not runner.wait(timeout=0.1):
            pass
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FILE_ERROR
    finally:
        runner.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stop_requested.is_set():
        return 0
    if runner.failures:
        print(f"[launch] every process ended; failed: {', '.join(runner.failures)}", file=sys.stderr)
        return 1
    return 0


def _parse_target(items: list[str]) -> tuple[Path, dict[str, str]]:
    """Split `[PKG] FILE name:=value ...` into the launch file path and its arguments."""
    from service_desk_robot.launching import LaunchError
    from service_desk_robot.launching.substitutions import package_prefix

    positional = [item for item in items if ":=" not in item]
    arguments = dict(item.split(":=", 1) for item in items if ":=" in item)
    if items[: len(positional)] != positional:
        raise LaunchError("give the launch file (and package) before the name:=value arguments")
    if len(positional) == 1:
        return Path(positional[0]), arguments
    if len(positional) != 2:
        raise LaunchError(f"expected FILE or PKG FILE before the arguments, got {positional}")
    package, name = positional
    share = package_prefix(package) / "share" / package
    for candidate in (share / "launch" / name, share / name):
        if candidate.is_file():
            return candidate, arguments
    found = sorted(p for p in share.rglob(name) if p.is_file())
    if not found:
        raise LaunchError(f"launch file '{name}' not found in package '{package}' ({share})")
    return found[0], arguments
