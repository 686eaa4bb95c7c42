"""`service-desk-robot sim`: a morning at the ward office, end to end, through the real nodes.

Starts launch/sim.launch.xml with the launch runner (simulated world + every robot node, on
free loopback ports, state in the report folder), waits until the robot is ready, plays the
scenario with the director (nodes/scenario_director.py), prints a live transcript and
writes the report folder: transcript.txt, launch.log, tickets/ (every printed job as PNG,
decoded by the fake printer), summary.json and summary.md. Exits 1 when an expectation
fails, 2 when the simulation could not start.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

HELP = "run the lobby simulation (scenario through the real nodes); live transcript and a report folder"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = PACKAGE_ROOT / "sim/scenarios/morning.yaml"
FAST_TIME_SCALE = 4.0
ADMIN_TOKEN = "admin-dev-token"  # the simulator's development token (config/ward_office_server.yaml)
STAFF_TOKEN = "staff-dev-token"  # the staff console's token in the simulation (development only)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML (default: morning)"
    )
    parser.add_argument(
        "--report", type=Path, default=Path("reports/sim"), help="report folder (emptied first)"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"simulated time runs {FAST_TIME_SCALE:g}x faster than real time where nodes allow",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=90.0,
        metavar="S",
        help="seconds to wait for every node to report ready",
    )


def _demo_receipt_code(config_dir: Path) -> str:
    import yaml

    data = yaml.safe_load((config_dir / "ward_office_server.yaml").read_text(encoding="utf-8"))
    return str(data["demo_applications"][0]["receipt_code"])


def run(args: argparse.Namespace) -> int:
    import shutil

    from service_desk_robot.launching import LaunchError, LaunchRunner
    from service_desk_robot.ports import free_loopback_ports
    from service_desk_robot.robot.catalogue import load_catalogue
    from service_desk_robot.sim.lobby_controls import LobbyControls, LobbyEndpoints
    from service_desk_robot.sim.report import write_report
    from service_desk_robot.sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = args.report.resolve()
    shutil.rmtree(report, ignore_errors=True)
    work = report / "world"
    work.mkdir(parents=True)
    time_scale = FAST_TIME_SCALE if args.fast else 1.0
    server_port, printer_port, printer_control, dispenser_control, screen_port = free_loopback_ports(5)
    config_dir = PACKAGE_ROOT / "config"
    transcript_file = (report / "transcript.txt").open("w", encoding="utf-8")
    launch_log = (report / "launch.log").open("w", encoding="utf-8")
    log_lock = threading.Lock()

    def transcript(line: str) -> None:
        print(line, flush=True)
        transcript_file.write(line + "\n")
        transcript_file.flush()

    def launch_sink(line: str) -> None:
        with log_lock:
            launch_log.write(line + "\n")
            launch_log.flush()

    launch_args = {
        "work_dir": str(work),
        "server_port": str(server_port),
        "printer_port": str(printer_port),
        "printer_control_port": str(printer_control),
        "dispenser_control_port": str(dispenser_control),
        "screen_port": str(screen_port),
        "staff_token": STAFF_TOKEN,
        "time_scale": str(time_scale),
    }
    transcript(
        f"scenario {scenario.name}: {scenario.description} ({len(scenario.visitors)} visitors, "
        f"time x{time_scale:g})"
    )
    try:
        runner = LaunchRunner(PACKAGE_ROOT / "launch/sim.launch.xml", launch_args, sink=launch_sink)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    controls = LobbyControls(
        LobbyEndpoints(
            f"http://127.0.0.1:{server_port}",
            ADMIN_TOKEN,
            printer_control,
            dispenser_control,
            load_catalogue(config_dir / "services.yaml").office.timezone,
        )
    )
    started = time.monotonic()
    runner.start()
    screen = f"http://127.0.0.1:{screen_port}"
    transcript(f"robot's screen: {screen}/ (staff console: {screen}/staff, token {STAFF_TOKEN})")
    try:
        records, ready_s = _direct(
            scenario, controls, transcript, time_scale, args.ready_timeout, _demo_receipt_code(config_dir)
        )
    finally:
        runner.stop()
        controls.close()
        transcript_file.close()
        launch_log.close()
    if records is None:
        print(
            f"error: the robot was not ready within {args.ready_timeout:g} s; see {report / 'launch.log'}",
            file=sys.stderr,
        )
        return 2
    summary = write_report(
        report,
        scenario,
        records,
        time_scale=time_scale,
        ready_s=ready_s,
        wall_s=time.monotonic() - started,
        tickets_dir=work / "tickets",
    )
    print(f"\n{summary.headline}\nreport: {report}")
    return 0 if summary.passed else 1


def _direct(scenario, controls, transcript, time_scale: float, ready_timeout_s: float, receipt_code: str):
    """Play the scenario with an in-process director node; (records, seconds to ready)."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from service_desk_robot.nodes.scenario_director import DirectorTiming, ScenarioDirector
    from service_desk_robot.sim.lobby_controls import LobbyControlError
    from service_desk_robot.sim.scenario import Fault

    bookings: dict[str, str] = {}

    def fill_line(visitor, template: str) -> str:
        return template.format(booking_code=bookings.get(visitor.id, ""), receipt_code=receipt_code)

    def apply_fault(fault: Fault) -> str:
        try:
            return controls.apply(fault)
        except LobbyControlError as error:  # the visitor's expectations will show what followed
            return f"NOT SWITCHED: {error}"

    rclpy.init()
    director = ScenarioDirector(
        scenario,
        faults=apply_fault,
        fill_line=fill_line,
        transcript=transcript,
        timing=DirectorTiming(time_scale=time_scale),
        before_arrival=lambda v: _seed(v, controls, bookings, transcript),
    )
    executor = SingleThreadedExecutor()
    executor.add_node(director)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        waited = time.monotonic()
        missing = director.wait_ready(ready_timeout_s)
        if missing:
            transcript(f"not ready: {', '.join(missing)}")
            return None, 0.0
        ready_s = time.monotonic() - waited
        transcript(f"robot ready after {ready_s:.1f} s")
        return director.play(), ready_s
    finally:
        executor.shutdown(timeout_sec=2)
        director.destroy_node()
        rclpy.try_shutdown()


def _seed(visitor, controls, bookings: dict[str, str], transcript) -> None:
    if visitor.booking_service:
        bookings[visitor.id] = controls.book_today(visitor.booking_service)
        transcript(f"(city app) {visitor.id} booked {visitor.booking_service} today: {bookings[visitor.id]}")
