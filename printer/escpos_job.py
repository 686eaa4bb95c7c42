"""One rendered ticket -> the exact ESC/POS bytes of one print job, built with python-escpos.

The job is: ESC @ (initialise), the image as raster bands (GS v 0), a left-margin reset,
then python-escpos's feed-and-cut. To keep a ticket small enough for a 115200-baud serial
line, the 1-bit image is cut into horizontal bands at blank rows:

- a band with ink is cropped to the byte columns that hold ink and placed with GS L (left
  margin, in dots) - the printed dots are exactly the image's dots;
- a run of blank rows is sent as a blank raster one byte wide (GS v 0, 1 x n): it feeds the
  paper by exactly n raster rows on every printer, which ESC J (motion units vary by model)
  does not guarantee.

With `crop=False` every band is sent full width from the left edge (for printers that ignore
GS L); the printed picture is the same. Stateless functions, safe from any thread.
"""

from __future__ import annotations

import copy

import numpy as np
from escpos.capabilities import NotSupported, get_profile
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy
from PIL import Image

from service_desk_robot.printer.errors import PrinterConfigError, PrinterError

INIT = b"\x1b@"
GS_L = b"\x1dL"  # + nL nH: left margin in dots
# Blank runs up to this many rows are cheaper inside an ink band than as a separate band.
MERGE_GAP_ROWS = 1


def make_profile(name: str, width_dots: int) -> object:
    """A python-escpos profile by name, with the media width set (no profile has 80 mm)."""
    try:
        profile = get_profile(name or "default")
    except (NotSupported, KeyError) as error:
        raise PrinterConfigError(f"unknown printer profile {name!r}") from error
    # profile_data is shared by every instance of the class: change a private copy only.
    data = copy.deepcopy(profile.profile_data)
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = width_dots
    profile.profile_data = data
    return profile


def _bands(ink_rows: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, stop, has_ink) runs of rows; short blank gaps are merged into ink bands."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for row in range(1, len(ink_rows) + 1):
        if row == len(ink_rows) or ink_rows[row] != ink_rows[start]:
            runs.append((start, row, bool(ink_rows[start])))
            start = row
    merged: list[tuple[int, int, bool]] = []
    for run in runs:
        gap_is_short = not run[2] and run[1] - run[0] <= MERGE_GAP_ROWS
        if merged and merged[-1][2] and (run[2] or gap_is_short):
            merged[-1] = (merged[-1][0], run[1], True)
        else:
            merged.append(run)
    # A short blank gap merged at the very end is trailing blank: give it back as a feed.
    if merged and merged[-1][2]:
        last_ink = merged[-1][0] + int(np.flatnonzero(ink_rows[merged[-1][0] : merged[-1][1]])[-1]) + 1
        if last_ink < merged[-1][1]:
            merged[-1:] = [(merged[-1][0], last_ink, True), (last_ink, merged[-1][1], False)]
    return merged


def encode_ticket(image: Image.Image, profile: object, *, crop: bool = True, cut: bool = True) -> bytes:
    """ESC/POS bytes that print `image` (mode "1", black = dot) dot for dot, then cut."""
    if image.mode != "1":
        raise PrinterError(f"ticket image must be 1-bit (mode '1'), got {image.mode!r}")
    ink = ~np.array(image, dtype=bool)  # True = a printed dot
    printer = Dummy()
    printer.profile = profile
    try:
        printer._raw(INIT)
        for start, stop, has_ink in _bands(ink.any(axis=1)):
            if not has_ink:
                # Blank raster 8 dots wide: an exact feed of (stop - start) rows.
                printer.image(Image.new("1", (8, stop - start), 1))
                continue
            band = ink[start:stop]
            first_byte, last_byte = 0, (image.width + 7) // 8
            if crop:
                columns = np.flatnonzero(band.any(axis=0))
                first_byte, last_byte = columns[0] // 8, columns[-1] // 8 + 1
            left = first_byte * 8
            printer._raw(GS_L + int(left).to_bytes(2, "little"))
            printer.image(image.crop((left, start, min(image.width, last_byte * 8), stop)))
        printer._raw(GS_L + b"\x00\x00")
        if cut:
            printer.cut()
    except EscposError as error:
        raise PrinterError(f"python-escpos could not encode the ticket: {error}") from error
    return printer.output
