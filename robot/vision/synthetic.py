"""Synthetic camera sequences composed from real face photographs, for tests, benchmarks and demos.

The photographs ship inside registry packages, so nothing is downloaded: scikit-image's
`astronaut` (Eileen Collins, frontal) and `camera` (the cameraman, a three-quarter view:
a real face that is *not* facing the camera) and matplotlib's `grace_hopper.jpg`
(frontal). A `Placement` puts one of these faces into a 640x480 frame at a centre and a
face width in pixels (the width tells the distance: `face_width_px_at`), optionally
mirrored. A head turning away is played by the cameraman's real three-quarter view at the
same place and size (rotating a frontal photo does not make a believable turned head:
YuNet's landmarks stay upright on a rolled face). Sequences are lists of
frames, each a list of placements; `render` draws one frame on a fixed, textured
background. Deterministic; photographs are loaded once and cached.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

FRAME_SIZE = (640, 480)  # width, height
DEFAULT_FOV_DEG = 60.0
FACE_WIDTH_M = 0.15  # YuNet's box on an adult face


@dataclass(frozen=True)
class FacePhoto:
    name: str
    image: np.ndarray  # BGR
    face_box: tuple[int, int, int, int]  # x, y, w, h of the face as YuNet boxes it


# Face boxes measured once with YuNet on these pinned photographs.
_FACE_BOXES = {
    "astronaut": (178, 63, 89, 112),
    "cameraman": (195, 113, 60, 80),
    "hopper": (182, 121, 171, 211),
}
PHOTOS = tuple(_FACE_BOXES)


@functools.cache
def face_photo(name: str) -> FacePhoto:
    """One of PHOTOS, loaded from the package that ships it."""
    if name == "astronaut":
        from skimage import data

        image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    elif name == "cameraman":
        from skimage import data

        image = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    elif name == "hopper":
        from matplotlib import cbook

        image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    else:
        raise KeyError(f"unknown face photo '{name}'; choose one of {PHOTOS}")
    image.setflags(write=False)
    return FacePhoto(name, image, _FACE_BOXES[name])


@dataclass(frozen=True)
class Placement:
    photo: str
    cx: float  # centre of the face in the frame, px
    cy: float
    face_width_px: float
    mirror: bool = False


def face_width_px_at(
    distance_m: float, fov_deg: float = DEFAULT_FOV_DEG, width: int = FRAME_SIZE[0]
) -> float:
    """Width in pixels of a face `distance_m` away (pinhole camera, FACE_WIDTH_M face)."""
    fx = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return fx * FACE_WIDTH_M / distance_m


@functools.cache
def background(size: tuple[int, int] = FRAME_SIZE, seed: int = 7) -> np.ndarray:
    """A lobby-like wall: soft gradient with some texture and noise, no faces."""
    width, height = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(90, 170, width, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp, (height, width, 3)).copy()
    base += rng.normal(0, 6, (height, width, 3)).astype(np.float32)
    base[int(height * 0.8) :, :, :] *= 0.6  # a floor line
    frame = np.clip(base, 0, 255).astype(np.uint8)
    frame.setflags(write=False)
    return frame


def _paste(frame: np.ndarray, patch: np.ndarray, left: int, top: int) -> None:
    height, width = frame.shape[:2]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + patch.shape[1]), min(height, top + patch.shape[0])
    if x0 < x1 and y0 < y1:
        frame[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]


def render_placement(frame: np.ndarray, placement: Placement) -> None:
    """Draw the head of `placement` (face box grown to the whole head) into `frame`."""
    photo = face_photo(placement.photo)
    x, y, w, h = photo.face_box
    # Take the head around the face box: hair, ears, chin and some shoulder.
    margin_x, margin_y = int(w * 0.6), int(h * 0.5)
    top, left = max(0, y - margin_y), max(0, x - margin_x)
    head = photo.image[top : y + h + margin_y, left : x + w + margin_x]
    face_cx, face_cy = x + w / 2.0 - left, y + h / 2.0 - top
    if placement.mirror:
        head = head[:, ::-1]
        face_cx = head.shape[1] - face_cx
    scale = placement.face_width_px / w
    size = (max(1, round(head.shape[1] * scale)), max(1, round(head.shape[0] * scale)))
    head = cv2.resize(np.ascontiguousarray(head), size, interpolation=cv2.INTER_AREA)
    _paste(frame, head, round(placement.cx - face_cx * scale), round(placement.cy - face_cy * scale))


def render(placements: list[Placement], size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    frame = background(size).copy()
    for placement in placements:
        render_placement(frame, placement)
    return frame


def group_photo() -> tuple[np.ndarray, list[Placement]]:
    """Four real faces side by side at different sizes (two frontal, one three-quarter, one
    mirrored), 1024x576, and where each was put."""
    placements = [
        Placement("astronaut", 150, 260, 110),
        Placement("hopper", 400, 250, 90),
        Placement("cameraman", 640, 280, 80),
        Placement("astronaut", 870, 300, 70, mirror=True),
    ]
    return render(placements, size=(1024, 576)), placements


# --- sequences: lists of frames, each a list of placements -----------------------------


def approach(
    photo: str,
    *,
    rate_hz: float = 15.0,
    from_m: float = 4.0,
    to_m: float = 1.1,
    speed_mps: float = 1.2,
    stand_s: float = 2.0,
    cx: float = 320.0,
    cy: float = 220.0,
) -> list[list[Placement]]:
    """Walk straight at the robot (the face grows), stop at `to_m`, stand for `stand_s`."""
    steps = max(1, math.ceil((from_m - to_m) / speed_mps * rate_hz))
    frames = []
    for i in range(steps):
        distance = from_m - (from_m - to_m) * i / steps
        frames.append([Placement(photo, cx, cy, face_width_px_at(distance))])
    frames += [[Placement(photo, cx, cy, face_width_px_at(to_m))]] * round(stand_s * rate_hz)
    return frames


def slide(
    photo: str,
    *,
    distance_m: float,
    rate_hz: float = 15.0,
    speed_mps: float = 1.2,
    from_x: float = -60.0,
    to_x: float = 700.0,
    cy: float = 220.0,
) -> list[list[Placement]]:
    """Walk across the view at `distance_m` (a passer-by), left to right, off both edges."""
    width_px = face_width_px_at(distance_m)
    # Pixels per second of a walker at that distance: speed over metres per pixel.
    speed_px_s = speed_mps * width_px / FACE_WIDTH_M
    steps = max(1, math.ceil(abs(to_x - from_x) / speed_px_s * rate_hz))
    return [[Placement(photo, from_x + (to_x - from_x) * i / steps, cy, width_px)] for i in range(steps + 1)]


def empty(frames: int) -> list[list[Placement]]:
    """Nobody in view (the visitor has left)."""
    return [[] for _ in range(frames)]


def turned(frames: list[list[Placement]]) -> list[list[Placement]]:
    """The same frames with every head turned away (a three-quarter view, see above)."""
    return [[replace(p, photo="cameraman", mirror=False) for p in placements] for placements in frames]


def together(*sequences: list[list[Placement]]) -> list[list[Placement]]:
    """Several people in the same frames; the shorter sequences hold their last frame."""
    length = max(len(s) for s in sequences)
    return [[p for s in sequences for p in (s[min(i, len(s) - 1)] if s else [])] for i in range(length)]


def frames_with_stamps(
    sequence: list[list[Placement]], rate_hz: float = 15.0, start_s: float = 0.0
) -> Iterator[tuple[float, np.ndarray]]:
    """(stamp_s, frame) pairs at `rate_hz`."""
    for i, placements in enumerate(sequence):
        yield start_s + i / rate_hz, render(placements)
