"""Ticket layout and rendering to a 1-bit raster: the one picture that is previewed and printed.

`render_ticket` lays a validated ticket out top to bottom (office, big number, service, people
ahead and wait, counters, booking code, date and time, QR code to the status page, instruction
in the visitor's language and then in the other one), wraps every text to the paper width by
measuring it with the real font (a word longer than a line is broken between letters), shrinks
the big number until it fits, and draws it all with Pillow. Text is rendered, never sent as
printer characters, so Vietnamese diacritics print on any printer. The result is a mode "1"
image exactly `width_dots` wide: the preview PNG and the ESC/POS raster are made from it.

Pure functions; font objects are cached per (file, size) and are safe to share between threads
for measuring and drawing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFont

from service_desk_robot.printer.errors import PrinterConfigError
from service_desk_robot.printer.ticket import TicketConfig, TicketData, status_url

PAPER_WIDTH_DOTS = {80: 576, 58: 384}  # paper width in mm -> printable dots at 203 dpi
QR_MASK = 0


@dataclass(frozen=True)
class RenderedTicket:
    image: Image.Image  # mode "1", black = printed dot
    lines: tuple[str, ...]  # every text line as drawn, after wrapping
    url: str  # what the QR code encodes


@dataclass(frozen=True)
class _Text:
    text: str
    size: int
    bold: bool = False
    one_line: bool = False  # shrink to fit instead of wrapping (the big number)


@dataclass(frozen=True)
class _Rule:
    thickness: int = 2


@dataclass(frozen=True)
class _Qr:
    url: str
    module_px: int


def width_for_paper(paper_mm: int) -> int:
    try:
        return PAPER_WIDTH_DOTS[paper_mm]
    except KeyError:
        raise PrinterConfigError(f"paper width {paper_mm} mm not supported; use 80 or 58") from None


@functools.lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(str(path), size)
    except OSError as error:
        raise PrinterConfigError(f"cannot load font {path}: {error}") from error


def wrap(text: str, font: ImageFont.FreeTypeFont, max_px: int) -> list[str]:
    """Greedy word wrap by measured width; a word wider than a line is split between letters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_px:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while font.getlength(word) > max_px:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > max_px:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _blocks(ticket: TicketData, config: TicketConfig, width: int) -> list[object]:
    layout = config.layout.scaled(width)
    lang = ticket.language
    other = "en" if lang == "vi" else "vi"

    def t(key: str) -> str:
        return config.text(lang, key)

    issued = datetime.fromisoformat(ticket.issued_at)
    service_name = ticket.service_name_en if lang == "en" else ticket.service_name_vi
    blocks: list[object] = [
        _Text(config.office.name(lang), layout.office_font_px, bold=True),
        _Rule(),
        _Text(t("number_label"), layout.label_font_px),
        _Text(ticket.number, layout.number_font_px, bold=True, one_line=True),
    ]
    if ticket.priority:
        blocks.append(_Text(t("priority"), layout.service_font_px, bold=True))
    blocks.append(_Text(service_name, layout.service_font_px, bold=True))
    if ticket.people_ahead:
        blocks.append(_Text(t("people_ahead").format(count=ticket.people_ahead), layout.body_font_px))
    else:
        blocks.append(_Text(t("people_ahead_none"), layout.body_font_px))
    if ticket.estimated_wait_min:
        blocks.append(
            _Text(t("estimated_wait").format(minutes=ticket.estimated_wait_min), layout.body_font_px)
        )
    blocks.append(_Text(t("counters").format(counters=", ".join(ticket.counters)), layout.body_font_px, True))
    if ticket.booking_code:
        blocks.append(_Text(t("booking_code").format(code=ticket.booking_code), layout.body_font_px))
    when = t("issued_at").format(
        time=issued.strftime(t("time_format")), date=issued.strftime(t("date_format"))
    )
    blocks += [
        _Text(when, layout.small_font_px),
        _Qr(status_url(ticket, config), layout.qr_module_px),
        _Text(t("qr_hint"), layout.small_font_px),
        _Rule(),
        _Text(t("instruction"), layout.body_font_px, bold=True),
        _Text(config.text(other, "instruction"), layout.small_font_px),
    ]
    return blocks


def _qr_array(url: str, module_px: int) -> np.ndarray:
    """QR as a bool array (True = black), quiet zone of 4 modules included."""
    # A fixed mask pattern: choosing the "best" of eight costs ~30 ms in pure Python, about
    # two thirds of a ticket's rendering, and any of the eight is valid and scans.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK)
    code.add_data(url)
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=bool)
    return np.kron(matrix, np.ones((module_px, module_px), dtype=bool))


def render_ticket(ticket: TicketData, config: TicketConfig, width_dots: int) -> RenderedTicket:
    """Lay out and draw a validated ticket (see ticket.validate_ticket) `width_dots` wide."""
    layout = config.layout.scaled(width_dots)
    inner = width_dots - 2 * layout.margin_px
    # First pass: wrap and measure, so the canvas is created once at its final height.
    placed: list[tuple[str, object, int, int]] = []  # (kind, payload, x, height)
    drawn_lines: list[str] = []
    url = ""
    for block in _blocks(ticket, config, width_dots):
        if isinstance(block, _Text):
            size = block.size
            path = config.font_bold if block.bold else config.font_regular
            font = _font(path, size)
            if block.one_line:
                while size > layout.min_font_px and font.getlength(block.text) > inner:
                    size -= 4
                    font = _font(path, size)
            lines = wrap(block.text, font, inner)
            for line in lines:
                _, top, _, bottom = font.getbbox(line, anchor="ls")
                ascent, descent = font.getmetrics()
                # Room for stacked Vietnamese diacritics that rise above the font's ascent.
                above = max(ascent, -top)
                height = above + max(descent, bottom)
                x = layout.margin_px + (inner - round(font.getlength(line))) // 2
                placed.append(("text", (line, font, above), x, height))
                placed.append(("gap", None, 0, layout.line_gap_px))
                drawn_lines.append(line)
            if lines:
                placed[-1] = ("gap", None, 0, layout.block_gap_px)
        elif isinstance(block, _Qr):
            url = block.url
            qr = _qr_array(block.url, block.module_px)
            if qr.shape[1] > inner:
                qr = _qr_array(block.url, max(1, block.module_px * inner // qr.shape[1]))
            placed.append(("qr", qr, (width_dots - qr.shape[1]) // 2, qr.shape[0]))
        elif isinstance(block, _Rule):
            placed.append(("rule", None, layout.margin_px, block.thickness))
            placed.append(("gap", None, 0, layout.block_gap_px))
    height = layout.top_px + sum(h for _, _, _, h in placed) + layout.bottom_px
    canvas = Image.new("L", (width_dots, height), 255)
    draw = ImageDraw.Draw(canvas)
    qr_boxes: list[tuple[np.ndarray, int, int]] = []
    y = layout.top_px
    for kind, payload, x, h in placed:
        if kind == "text":
            line, font, above = payload
            draw.text((x, y + above), line, font=font, fill=0, anchor="ls")
        elif kind == "rule":
            draw.rectangle((x, y, width_dots - layout.margin_px - 1, y + h - 1), fill=0)
        elif kind == "qr":
            qr_boxes.append((payload, x, y))
        y += h
    # Threshold (no dithering): crisp text edges, and the printed dots are exactly these.
    lut = [0 if v < layout.threshold else 255 for v in range(256)]
    image = canvas.point(lut, "1")
    if qr_boxes:
        pixels = np.array(image, dtype=bool)
        for qr, x, y in qr_boxes:
            pixels[y : y + qr.shape[0], x : x + qr.shape[1]] = ~qr
        image = Image.fromarray(pixels)
    return RenderedTicket(image=image, lines=tuple(drawn_lines), url=url)
