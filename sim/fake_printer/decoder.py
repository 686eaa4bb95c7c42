"""An ESC/POS interpreter for the fake printer: bytes in, the printed page out.

Written from the ESC/POS command descriptions, independent of the robot's encoder (so a
test comparing the two catches a bug in either). `EscposParser` is incremental: feed it
bytes as they arrive and it returns complete commands, keeping a partial command for the
next chunk. `PageBuilder` applies commands to a page of `width_dots` (print position, left
margin GS L, justification ESC a, feeds) and draws raster images (GS v 0) dot for dot.

Understood: ESC @, ESC a, ESC d, ESC J, ESC 2/3, GS L, GS W, GS v 0, GS V (cut), DLE EOT,
LF/CR, plain text (recorded, not drawn), one-argument mode commands (ESC ! E - M G t { R,
GS ! B) and length-prefixed GS ( x blocks (skipped). Anything else is reported as an error
and skipped one byte at a time, as a printer would print or ignore it.

Single-threaded: one parser and one builder per connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

ESC, GS, DLE, LF, CR = 0x1B, 0x1D, 0x10, 0x0A, 0x0D
DEFAULT_LINE_SPACING_DOTS = 30
_ESC_ONE_ARG = set(b"!E-MGt{RVU")
_GS_ONE_ARG = set(b"!BfhHkw")


@dataclass(frozen=True)
class Command:
    name: str  # "init", "raster", "cut", "status", "text", "feed_lines", ...
    raw: bytes
    args: tuple[int, ...] = ()
    data: bytes = b""


@dataclass
class RasterImage:
    mode: int
    width_bytes: int
    height: int
    x: int  # where it was drawn, in dots
    y: int
    data_length: int


@dataclass
class DecodedPage:
    image: Image.Image  # mode "1", black = printed dot
    rasters: list[RasterImage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    text: str = ""
    cut: bool = False


class EscposParser:
    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Command]:
        self._buffer += data
        commands = []
        pos = 0
        while pos < len(self._buffer):
            parsed = self._parse_one(pos)
            if parsed is None:
                break  # incomplete: wait for more bytes
            command, pos = parsed
            commands.append(command)
        del self._buffer[:pos]
        return commands

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def _parse_one(self, pos: int) -> tuple[Command, int] | None:
        b = self._buffer
        first = b[pos]
        if first in (ESC, GS, DLE):
            if pos + 1 >= len(b):
                return None
            second = b[pos + 1]
            if first == ESC:
                return self._escape(pos, second)
            if first == GS:
                return self._group(pos, second)
            return self._realtime(pos, second)
        if first == LF:
            return Command("lf", bytes(b[pos : pos + 1])), pos + 1
        if first == CR:
            return Command("cr", bytes(b[pos : pos + 1])), pos + 1
        end = pos
        while end < len(b) and b[end] not in (ESC, GS, DLE, LF, CR):
            end += 1
        return Command("text", bytes(b[pos:end])), end

    def _fixed(self, pos: int, length: int, name: str) -> tuple[Command, int] | None:
        if pos + length > len(self._buffer):
            return None
        raw = bytes(self._buffer[pos : pos + length])
        return Command(name, raw, tuple(raw[2:])), pos + length

    def _escape(self, pos: int, second: int) -> tuple[Command, int] | None:
        names = {ord("@"): ("init", 2), ord("2"): ("default_spacing", 2), ord("a"): ("justify", 3)}
        names |= {ord("d"): ("feed_lines", 3), ord("J"): ("feed_dots", 3), ord("3"): ("line_spacing", 3)}
        if second in names:
            name, length = names[second]
            return self._fixed(pos, length, name)
        if second in _ESC_ONE_ARG:
            return self._fixed(pos, 3, "mode")
        return self._unknown(pos)

    def _group(self, pos: int, second: int) -> tuple[Command, int] | None:
        b = self._buffer
        if second == ord("v"):
            if pos + 8 > len(b):
                return None
            if b[pos + 2] != ord("0"):
                return self._unknown(pos)
            mode, xl, xh, yl, yh = b[pos + 3 : pos + 8]
            width_bytes, height = xl + 256 * xh, yl + 256 * yh
            end = pos + 8 + width_bytes * height
            if end > len(b):
                return None
            raw = bytes(b[pos:end])
            return Command("raster", raw, (mode, width_bytes, height), raw[8:]), end
        if second == ord("V"):
            if pos + 3 > len(b):
                return None
            length = 4 if b[pos + 2] in (65, 66, 97, 98, 103, 104) else 3
            return self._fixed(pos, length, "cut")
        if second == ord("L"):
            return self._fixed(pos, 4, "left_margin")
        if second == ord("W"):
            return self._fixed(pos, 4, "print_width")
        if second == ord("("):
            if pos + 5 > len(b):
                return None
            end = pos + 5 + b[pos + 3] + 256 * b[pos + 4]
            if end > len(b):
                return None
            return Command("block", bytes(b[pos:end])), end
        if second in _GS_ONE_ARG:
            return self._fixed(pos, 3, "mode")
        return self._unknown(pos)

    def _realtime(self, pos: int, second: int) -> tuple[Command, int] | None:
        if second == 0x04:
            return self._fixed(pos, 3, "status")
        return self._unknown(pos)

    def _unknown(self, pos: int) -> tuple[Command, int]:
        return Command("unknown", bytes(self._buffer[pos : pos + 1])), pos + 1


class PageBuilder:
    """Applies commands to one page (one job, from init to cut)."""

    def __init__(self, width_dots: int = 576) -> None:
        self.width = width_dots
        self._blocks: list[np.ndarray] = []  # printed rows, in blocks of (rows, width) bools
        self.rows = 0
        self._left_margin = 0
        self._justify = 0
        self._line_spacing = DEFAULT_LINE_SPACING_DOTS
        self._text: list[str] = []
        self.rasters: list[RasterImage] = []
        self.errors: list[str] = []
        self.cut = False

    def _add(self, block: np.ndarray) -> None:
        self._blocks.append(block)
        self.rows += block.shape[0]

    def _feed(self, dots: int) -> None:
        self._add(np.zeros((dots, self.width), dtype=bool))

    def apply(self, command: Command) -> None:
        name = command.name
        if name == "init":
            self._left_margin, self._justify, self._line_spacing = 0, 0, DEFAULT_LINE_SPACING_DOTS
        elif name == "raster":
            self._raster(command)
        elif name == "left_margin":
            self._left_margin = command.args[0] + 256 * command.args[1]
        elif name == "justify":
            self._justify = command.args[0] % 48
        elif name == "feed_lines":
            self._feed(command.args[0] * self._line_spacing)
        elif name == "feed_dots":
            self._feed(command.args[0])
        elif name == "line_spacing":
            self._line_spacing = command.args[0]
        elif name == "default_spacing":
            self._line_spacing = DEFAULT_LINE_SPACING_DOTS
        elif name == "lf":
            self._feed(self._line_spacing)
        elif name == "text":
            self._text.append(command.raw.decode("latin-1"))
        elif name == "cut":
            self.cut = True
        elif name == "unknown":
            self.errors.append(f"unknown command byte 0x{command.raw[0]:02x} at page row {self.rows}")

    def _raster(self, command: Command) -> None:
        mode, width_bytes, height = command.args
        if mode not in (0, 48):
            self.errors.append(f"raster mode {mode} (scaled) not drawn")
        if width_bytes == 0 or height == 0:
            self.errors.append("raster with zero size")
            return
        dots = np.unpackbits(np.frombuffer(command.data, dtype=np.uint8)).reshape(height, width_bytes * 8)
        dots = dots.astype(bool)
        area = self.width - self._left_margin
        x = self._left_margin
        if self._justify == 1:
            x += max(0, (area - dots.shape[1]) // 2)
        elif self._justify == 2:
            x += max(0, area - dots.shape[1])
        if x + dots.shape[1] > self.width:
            outside = dots[:, self.width - x :] if x < self.width else dots
            if outside.any():
                self.errors.append(
                    f"raster at x={x}, {dots.shape[1]} dots wide: ink beyond dot {self.width} is lost"
                )
            dots = dots[:, : max(0, self.width - x)]
        self.rasters.append(RasterImage(mode, width_bytes, height, x, self.rows, len(command.data)))
        block = np.zeros((height, self.width), dtype=bool)
        block[:, x : x + dots.shape[1]] = dots
        self._add(block)

    def page(self) -> DecodedPage:
        if not self._blocks:
            image = Image.new("1", (self.width, 0), 1)
        else:
            image = Image.fromarray(~np.vstack(self._blocks))
        return DecodedPage(image, list(self.rasters), list(self.errors), "".join(self._text), self.cut)


def decode_job(data: bytes, width_dots: int = 576) -> DecodedPage:
    """The page one complete job prints (for tests and offline inspection)."""
    parser, page = EscposParser(), PageBuilder(width_dots)
    for command in parser.feed(data):
        page.apply(command)
    if parser.pending_bytes:
        page.errors.append(f"{parser.pending_bytes} bytes of an incomplete command at the end")
    return page.page()
