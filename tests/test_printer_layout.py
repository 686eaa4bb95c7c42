"""Ticket layout and rendering: what is printed, in vi and en, at 80 and 58 mm, and bad input."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pytest

from service_desk_robot.printer.errors import PrinterConfigError, TicketError
from service_desk_robot.printer.layout import render_ticket, width_for_paper, wrap
from service_desk_robot.printer.ticket import TicketData, load_ticket_config, status_url, validate_ticket

NOW = datetime(2026, 11, 26, 8, 15)


@pytest.fixture(scope="module")
def config(repo):
    return load_ticket_config(repo / "config/ticket.yaml", repo / "config/services.yaml")


def sample(**changes) -> TicketData:
    ticket = TicketData(
        number="B042",
        service_code="certification",
        people_ahead=5,
        estimated_wait_min=20,
        counters=("3",),
        issued_at="2026-11-26T08:15:00",
        booking_code="BK-7F3K2Q",
        language="vi",
    )
    return dataclasses.replace(ticket, **changes)


def render(config, width=576, **changes):
    return render_ticket(validate_ticket(sample(**changes), config, NOW), config, width)


def assert_nothing_cut_off(rendered, width, margin):
    pixels = ~np.array(rendered.image, dtype=bool)  # True = printed dot
    assert rendered.image.mode == "1"
    assert rendered.image.width == width
    assert not pixels[:, :margin].any(), "ink in the left margin"
    assert not pixels[:, width - margin :].any(), "ink in the right margin"
    assert not pixels[0].any(), "ink touches the top edge"
    assert not pixels[-1].any(), "ink touches the bottom edge"


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("paper_mm", [80, 58])
def test_every_field_is_laid_out_in_the_visitors_language(config, language, paper_mm):
    width = width_for_paper(paper_mm)
    rendered = render(config, width, language=language)
    text = " ".join(rendered.lines)
    other = "en" if language == "vi" else "vi"
    assert "B042" in rendered.lines
    for needle in (
        config.office.name(language).split()[0],
        config.text(language, "number_label"),
        config.text(language, "people_ahead").format(count=5),
        config.text(language, "counters").format(counters="3"),
        config.text(language, "booking_code").format(code="BK-7F3K2Q"),
        "26/11/2026",
        "08:15",
    ):
        assert " ".join(needle.split()) in text, needle
    # One instruction in the visitor's language, then the same in the other one.
    mine, theirs = config.text(language, "instruction"), config.text(other, "instruction")
    assert text.index(mine.split()[0]) < text.rindex(theirs.split()[0])
    assert_nothing_cut_off(rendered, width, config.layout.scaled(width).margin_px)


def test_vietnamese_service_name_from_the_catalogue_when_the_server_sent_none(config):
    rendered = render(config, service_name_vi="", service_name_en="")
    assert "Chứng thực bản sao, chữ ký" in " ".join(rendered.lines)


@pytest.mark.parametrize("paper_mm", [80, 58])
def test_long_service_name_wraps_and_nothing_is_cut_off(config, paper_mm):
    width = width_for_paper(paper_mm)
    long_name = "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm cho hộ kinh doanh dịch vụ ăn uống"
    rendered = render(config, width, service_name_vi=long_name)
    lines_of_name = [line for line in rendered.lines if line in long_name]
    assert len(lines_of_name) >= 2
    assert " ".join(lines_of_name) == long_name
    assert_nothing_cut_off(rendered, width, config.layout.scaled(width).margin_px)


def test_a_word_longer_than_the_line_is_split_between_letters(config):
    word = "X" * 80
    rendered = render(config, 384, booking_code=word)
    assert "".join(line for line in rendered.lines if set(line) <= set("X")).endswith(word[-10:])
    assert_nothing_cut_off(rendered, 384, config.layout.scaled(384).margin_px)


def test_wrap_keeps_every_word_in_order():
    from PIL import ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 24)
    text = "Vui lòng ngồi chờ, khi màn hình gọi số của bạn hãy đến quầy"
    lines = wrap(text, font, 200)
    assert " ".join(lines) == text
    assert all(font.getlength(line) <= 200 for line in lines)


def test_missing_optional_fields_are_left_out_not_printed_empty(config):
    rendered = render(
        config, booking_code="", people_ahead=0, estimated_wait_min=0, counters=(), issued_at=""
    )
    text = " ".join(rendered.lines)
    assert "Mã đặt lịch" not in text
    assert config.text("vi", "people_ahead_none") in text
    assert "Thời gian chờ" not in text
    assert "Quầy: 3" in text  # counters from the catalogue
    assert "08:15 ngày 26/11/2026" in text  # issue time from the clock


def test_the_big_number_shrinks_to_fit_instead_of_wrapping(config):
    rendered = render(config, 384, number="ABC12345")
    assert "ABC12345" in rendered.lines
    assert_nothing_cut_off(rendered, 384, config.layout.scaled(384).margin_px)


def test_priority_tickets_say_so(config):
    assert "Ưu tiên" in render(config, priority=True).lines
    assert "Ưu tiên" not in render(config).lines


def test_status_url_is_built_from_the_template_and_url_encoded(config):
    ticket = validate_ticket(sample(), config, NOW)
    assert status_url(ticket, config) == "http://127.0.0.1:8765/status/ticket?date=2026-11-26&number=B042"
    assert render(config).url == status_url(ticket, config)


def test_unknown_language_falls_back_to_the_default(config):
    assert validate_ticket(sample(language="fr"), config, NOW).language == "vi"
    assert validate_ticket(sample(language="EN"), config, NOW).language == "en"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"number": ""}, "no number"),
        ({"number": "   "}, "no number"),
        ({"number": "B" * 40}, "not a queue number"),
        ({"number": "B 042"}, "not a queue number"),
        ({"service_code": "passport"}, "unknown service"),
        ({"service_name_vi": "Hộ tịch " * 100}, "at most 120"),
        ({"booking_code": "x" * 10_000}, "at most 120"),
        ({"counters": ("1",) * 20}, "counters"),
        ({"people_ahead": 10**9}, "out of range"),
        ({"issued_at": "yesterday"}, "ISO 8601"),
        ({"service_name_en": "bad\x1b@text"}, "control characters"),
    ],
)
def test_bad_tickets_are_refused_with_a_clear_reason(config, changes, reason):
    with pytest.raises(TicketError, match=reason) as caught:
        validate_ticket(sample(**changes), config, NOW)
    assert caught.value.error_code == "BAD_TICKET"


def test_bad_config_is_refused_at_start(repo, tmp_path):
    broken = tmp_path / "ticket.yaml"
    text = (repo / "config/ticket.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("{number}", "{numero}"), encoding="utf-8")
    with pytest.raises(PrinterConfigError, match="status_url_template"):
        load_ticket_config(broken, repo / "config/services.yaml")
    broken.write_text(text.replace('    instruction: "Please', '    instructions: "Please'), encoding="utf-8")
    with pytest.raises(PrinterConfigError, match="instruction"):
        load_ticket_config(broken, repo / "config/services.yaml")
    with pytest.raises(PrinterConfigError, match="80 or 58"):
        width_for_paper(76)
