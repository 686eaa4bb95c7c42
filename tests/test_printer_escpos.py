"""The ESC/POS bytes of a ticket: framing, sizes, exactness, and a QR that still decodes."""

from __future__ import annotations

from datetime import datetime

import cv2
import numpy as np
import pytest
from PIL import Image

from service_desk_robot.printer.backends import PaperState, parse_paper_status
from service_desk_robot.printer.errors import PrinterConfigError, PrinterError
from service_desk_robot.printer.escpos_job import encode_ticket, make_profile
from service_desk_robot.printer.service import PrinterSettings, prepare_ticket
from service_desk_robot.printer.ticket import TicketData, load_ticket_config
from service_desk_robot.sim.fake_printer.decoder import EscposParser, decode_job

NOW = datetime(2026, 11, 26, 8, 15)


@pytest.fixture(scope="module")
def config(repo):
    return load_ticket_config(repo / "config/ticket.yaml", repo / "config/services.yaml")


def prepared(config, width=576, crop=True, **fields):
    ticket = TicketData(
        **{
            "number": "C007",
            "service_code": "land_construction",
            "people_ahead": 3,
            "language": "en",
            **fields,
        }
    )
    settings = PrinterSettings(width_dots=width, crop=crop)
    return prepare_ticket(ticket, config, make_profile("default", width), settings, NOW)


def test_a_tiny_image_is_encoded_byte_for_byte():
    """GIVEN a 16x3 image with ink in its second byte column of row 1
    THEN init, blank feed, margin, one cropped raster, blank feed, margin reset, feed, cut."""
    pixels = np.ones((3, 16), dtype=bool)
    pixels[1, 8] = False  # one black dot at x=8, y=1
    job = encode_ticket(Image.fromarray(pixels), make_profile("default", 576))
    assert job == (
        b"\x1b@"
        + b"\x1dv0\x00\x01\x00\x01\x00\x00"  # 1 blank row as an 8-dot-wide raster
        + b"\x1dL\x08\x00"  # left margin 8 dots
        + b"\x1dv0\x00\x01\x00\x01\x00\x80"  # the dot: 1 byte x 1 row, MSB = leftmost
        + b"\x1dv0\x00\x01\x00\x01\x00\x00"  # 1 blank row
        + b"\x1dL\x00\x00"
        + b"\x1bd\x06"  # python-escpos cut(): feed 6 lines
        + b"\x1dV\x00"  # full cut
    )


@pytest.mark.parametrize(("width", "crop"), [(576, True), (576, False), (384, True)])
def test_raster_framing_and_sizes_are_well_formed(config, width, crop):
    job = prepared(config, width, crop).job
    assert job.startswith(b"\x1b@")
    assert job.endswith(b"\x1dV\x00")
    commands = EscposParser().feed(job)
    names = [c.name for c in commands]
    assert "unknown" not in names
    assert "text" not in names
    assert sum(len(c.raw) for c in commands) == len(job)  # every byte belongs to a command
    for command in (c for c in commands if c.name == "raster"):
        mode, width_bytes, height = command.args
        assert mode == 0
        assert len(command.data) == width_bytes * height
        assert 1 <= width_bytes <= width // 8
        assert 1 <= height <= 960  # python-escpos fragments taller images
    margin = 0
    for command in commands:
        if command.name == "left_margin":
            margin = command.args[0] + 256 * command.args[1]
            assert margin % 8 == 0
        elif command.name == "raster":
            assert margin + command.args[1] * 8 <= width, "raster would run past the printable width"


@pytest.mark.parametrize(("width", "crop"), [(576, True), (576, False), (384, True)])
def test_the_printed_page_is_exactly_the_preview(config, width, crop):
    ready = prepared(config, width, crop, booking_code="BK-1", language="vi")
    page = decode_job(ready.job, width)
    assert page.errors == []
    assert page.cut
    preview = np.array(ready.rendered.image)
    printed = np.array(page.image)
    assert printed.shape[1] == preview.shape[1]
    assert (printed[: preview.shape[0]] == preview).all()
    assert printed[preview.shape[0] :].all()  # only the cut's feed after the ticket


def test_cropping_halves_the_bytes_of_a_ticket(config):
    assert len(prepared(config, crop=True).job) < 0.7 * len(prepared(config, crop=False).job)


@pytest.mark.parametrize("width", [576, 384])
def test_the_qr_in_the_printed_page_decodes_to_the_status_url(config, width):
    ready = prepared(config, width)
    page = decode_job(ready.job, width)
    grey = np.array(page.image.convert("L"))
    text, _points, _ = cv2.QRCodeDetector().detectAndDecode(grey)
    assert text == ready.rendered.url == "http://127.0.0.1:8765/status/ticket?date=2026-11-26&number=C007"


def test_wrong_image_mode_and_unknown_profile_are_clear_errors():
    with pytest.raises(PrinterError, match="1-bit"):
        encode_ticket(Image.new("L", (8, 8)), make_profile("default", 576))
    with pytest.raises(PrinterConfigError, match="profile"):
        make_profile("no-such-printer", 576)


def test_profiles_get_a_private_media_width():
    a, b = make_profile("default", 576), make_profile("default", 384)
    assert a.profile_data["media"]["width"]["pixels"] == 576
    assert b.profile_data["media"]["width"]["pixels"] == 384


@pytest.mark.parametrize(
    ("reply", "state"),
    [
        (b"\x12", PaperState.OK),
        (b"\x1e", PaperState.LOW),
        (b"\x72", PaperState.OUT),
        (b"\x7e", PaperState.OUT),
        (b"", PaperState.UNKNOWN),
        (b"\xff", PaperState.UNKNOWN),  # fixed bits wrong: not a status byte
        (b"\x7e\x12", PaperState.OK),  # the latest answer counts
    ],
)
def test_paper_status_replies(reply, state):
    assert parse_paper_status(reply) == state
