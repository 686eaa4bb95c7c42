"""`service-desk-robot ward-office-server`: run the simulated ward office server."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

HELP = "run the simulated ward office server (HTTP + JSON under /api/v1, SQLite)"
DEFAULT_DB = Path(tempfile.gettempdir()) / "service-desk-robot" / "ward-office.sqlite3"


def configure(parser: argparse.ArgumentParser) -> None:
    from service_desk_robot.sim.ward_office.config import (
        DEFAULT_PORT,
        DEFAULT_SERVER_CONFIG,
        DEFAULT_SERVICES,
    )

    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"SQLite database (default {DEFAULT_DB})")
    parser.add_argument("--config", type=Path, default=DEFAULT_SERVER_CONFIG, help="tokens, rules, demo data")
    parser.add_argument("--services", type=Path, default=DEFAULT_SERVICES, help="services catalogue")
    parser.add_argument(
        "--simulate-counters",
        action="store_true",
        help="counters call the next number by themselves, so the queue moves in demos",
    )
    parser.add_argument(
        "--call-interval-s",
        type=float,
        default=None,
        help="seconds between calls per counter in simulator mode (default from --config)",
    )
    parser.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from service_desk_robot.sim.ward_office.app import create_app
    from service_desk_robot.sim.ward_office.config import ConfigError, load_config
    from service_desk_robot.sim.ward_office.runner import system_clock
    from service_desk_robot.sim.ward_office.store import WardOfficeStore

    try:
        config = load_config(args.services, args.config)
    except ConfigError as error:
        print(f"ward-office-server: {error}")
        return 2
    if args.call_interval_s is not None and args.call_interval_s <= 0:
        print("ward-office-server: --call-interval-s must be positive")
        return 2
    args.db.parent.mkdir(parents=True, exist_ok=True)
    store = WardOfficeStore(args.db, config, system_clock)
    app = create_app(store, simulate_counters=args.simulate_counters, call_interval_s=args.call_interval_s)
    print(
        f"ward office server on http://{args.host}:{args.port}/api/v1 (OpenAPI: /openapi.json), db {args.db}"
    )
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    finally:
        store.close()
    return 0
