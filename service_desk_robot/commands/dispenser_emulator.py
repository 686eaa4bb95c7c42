"""`service-desk-robot dispenser-emulator`: the water and candy board on a pseudo-terminal.

Prints one JSON line per event on stdout, first
`{"event": "ready", "port": ..., "slave": ..., "control_port": ...}`, then `plugged` /
`unplugged` when the port comes and goes. Point the dispenser node's `port` parameter at
`--link` (a stable symlink to the current pty slave). Faults are injected at run time on
the control channel (docs/dispenser-protocol.md, "Emulator"), e.g.
`echo jam | nc 127.0.0.1 PORT`.
"""

from __future__ import annotations

import argparse

HELP = "run the emulated dispenser board on a pty, with faults injectable over a TCP control channel"


def _stock(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if not name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected ITEM=COUNT, got {text!r}")
    return name, int(count)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stock",
        type=_stock,
        action="append",
        metavar="ITEM=COUNT",
        help="a slot and its stock, in slot order (default: water=20 candy=50)",
    )
    parser.add_argument("--item-time", type=float, default=0.5, help="seconds the motor takes per item")
    parser.add_argument("--link", help="keep a symlink at this path pointing at the current pty slave")
    parser.add_argument("--control-port", type=int, default=0, help="TCP control port on 127.0.0.1 (0: any)")
    parser.add_argument("--seed", type=int, help="seed of the noise and garbling (reproducible runs)")


def run(args: argparse.Namespace) -> int:
    import json
    import logging
    import signal
    import sys
    import threading

    from service_desk_robot.sim.dispenser_emulator import ControlServer, DispenserEmulator

    # Ctrl-C and SIGTERM end the run the same clean way, wherever they land.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    stock = args.stock or [("water", 20), ("candy", 50)]

    def emit(event: dict[str, object]) -> None:
        print(json.dumps(event), flush=True)

    emulator = DispenserEmulator(
        [name for name, _ in stock],
        [count for _, count in stock],
        item_time_s=args.item_time,
        link=args.link,
        seed=args.seed,
    )
    try:
        emulator.start()
        control = ControlServer(emulator, port=args.control_port).start()
    except OSError as error:  # link folder not writable, control port taken
        print(f"dispenser-emulator: {error}", file=sys.stderr)
        emulator.close()
        return 1
    emit(
        {"event": "ready", "port": emulator.port, "slave": emulator.slave_path, "control_port": control.port}
    )
    emulator.set_listener(emit)
    try:
        stop.wait()
    finally:
        control.close()
        emulator.close()
    return 0
