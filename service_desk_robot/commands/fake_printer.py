"""`service-desk-robot fake-printer`: a TCP ESC/POS printer on 127.0.0.1 for the simulator.

Saves every job in --out (raw bytes, the PNG decoded from its raster commands, a JSON
summary) and takes text commands on --control-port (paper ok|low|out, offline, online,
reboot, drop, runout, silent, status, jobs: see sim/fake_printer/server.py). Example:

    service-desk-robot fake-printer --port 9100 --control-port 9101 --out /tmp/printer
    printf 'paper out\\n' | nc -q1 127.0.0.1 9101
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

HELP = "run a fake TCP ESC/POS ticket printer (saves jobs as bytes + PNG; paper faults on a control port)"


CONTROL_COMMANDS = """control commands (text lines over TCP to --control-port; reply "ok ..." or "error ..."):
  paper ok|low|out        paper sensor state (DLE EOT 4 answers 0x12 / 0x1e / 0x7e)
  offline | online        power off (connections dropped, refused) / on
  reboot [SECONDS]        offline for SECONDS (default 0.5), then online
  drop BYTES [SECONDS]    reboot mid-job after BYTES more bytes received
  runout ROWS             paper runs out after ROWS more printed raster rows
  silent on|off           stop / resume answering status queries
  status | jobs           JSON state / JSON list of saved jobs
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = CONTROL_COMMANDS
    parser.add_argument("--port", type=int, default=9100, help="printer TCP port on 127.0.0.1 (default 9100)")
    parser.add_argument(
        "--control-port",
        type=int,
        default=9101,
        help="control channel TCP port (text commands; default 9101)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for job-NNNN.{bin,png,json}")
    parser.add_argument("--width", type=int, choices=(80, 58), default=80, help="paper width in mm")
    parser.add_argument("--paper", choices=("ok", "low", "out"), default="ok", help="paper state at start")


def run(args: argparse.Namespace) -> int:
    import logging

    from service_desk_robot.printer.layout import width_for_paper
    from service_desk_robot.sim.fake_printer.server import FakePrinter

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    printer = FakePrinter(args.port, args.control_port, args.out, width_dots=width_for_paper(args.width))
    printer.set_paper(args.paper)
    try:
        printer.start()
    except OSError as error:
        print(f"fake printer: cannot listen on 127.0.0.1:{args.port}/{args.control_port}: {error}")
        return 1
    print(
        f"fake printer on 127.0.0.1:{printer.port}, control on 127.0.0.1:{printer.control_port}, "
        f"jobs in {args.out}",
        flush=True,
    )
    stop = threading.Event()
    # Launchers and tests stop it with SIGINT or SIGTERM: both end it cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        printer.stop()
    return 0
