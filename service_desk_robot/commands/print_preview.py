"""`service-desk-robot print-preview`: render a sample ticket to PNG, exactly as it would print.

The PNG is the 1-bit image the ESC/POS job carries (printer/layout.py); the command also
prints the job's size in bytes. Texts come from config/ticket.yaml and the office from
config/services.yaml of this checkout (or --ticket-config / --services-config).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

HELP = "render a sample queue ticket to a PNG (the exact image sent to the printer)"
CONFIG = Path(__file__).resolve().parents[2] / "config"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=("vi", "en"), default="vi", help="the visitor's language")
    parser.add_argument("--width", type=int, choices=(80, 58), default=80, help="paper width in mm")
    parser.add_argument("--out", type=Path, default=Path("ticket-preview.png"), help="PNG to write")
    parser.add_argument("--number", default="B042", help="queue number on the sample ticket")
    parser.add_argument("--service", default="certification", help="service code (config/services.yaml)")
    parser.add_argument("--booking-code", default="", help="booking code, for a checked-in online booking")
    parser.add_argument("--ticket-config", type=Path, default=CONFIG / "ticket.yaml")
    parser.add_argument("--services-config", type=Path, default=CONFIG / "services.yaml")
    parser.add_argument("--profile", default="default", help="python-escpos printer profile")


def run(args: argparse.Namespace) -> int:
    from service_desk_robot.printer.errors import PrinterError
    from service_desk_robot.printer.escpos_job import make_profile
    from service_desk_robot.printer.layout import width_for_paper
    from service_desk_robot.printer.service import PrinterSettings, prepare_ticket
    from service_desk_robot.printer.ticket import TicketData, load_ticket_config

    now = datetime.now().replace(second=0, microsecond=0)
    sample = TicketData(
        number=args.number,
        service_code=args.service,
        people_ahead=4,
        estimated_wait_min=18,
        issued_at=now.isoformat(),
        booking_code=args.booking_code,
        channel="robot",
        language=args.lang,
    )
    try:
        config = load_ticket_config(args.ticket_config, args.services_config)
        settings = PrinterSettings(width_dots=width_for_paper(args.width))
        prepared = prepare_ticket(
            sample, config, make_profile(args.profile, settings.width_dots), settings, now
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        prepared.rendered.image.save(args.out)
    except (PrinterError, OSError) as error:
        print(f"print-preview: {error}")
        return 1
    width, height = prepared.rendered.image.size
    print(f"wrote {args.out}: {width} x {height} dots, ESC/POS job {len(prepared.job)} bytes")
    print(f"QR: {prepared.rendered.url}")
    return 0
