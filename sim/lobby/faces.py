"""Visitors' faces: head-and-shoulders portraits cut from real photographs that ship
inside registry packages (scikit-image's `astronaut` and `camera`, matplotlib's Grace
Hopper), via robot/vision/synthetic.py, which knows each photo's face box.

A `Portrait` is the texture of a visitor's face panel and its size in metres: the face
box is scaled to FACE_WIDTH_M, so a detector sees a life-size face at a true distance.
Portraits are computed once per name and cached; thread-safe after that.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from service_desk_robot.robot.vision.synthetic import FACE_WIDTH_M, PHOTOS, face_photo
from service_desk_robot.sim.lobby.errors import UnknownFaceError

FACES = PHOTOS  # "astronaut", "cameraman" (three-quarter view: not facing), "hopper"
TEXTURE_PX = 256  # square texture; the panel's quad restores the aspect ratio
# The crop around the face box, in face-box widths / heights: shoulders below, hair above.
_SIDE_MARGIN_W = 1.2
_TOP_MARGIN_H = 0.5
_BOTTOM_MARGIN_H = 0.9


@dataclass(frozen=True)
class Portrait:
    name: str
    texture: np.ndarray  # TEXTURE_PX x TEXTURE_PX BGR
    width_m: float
    height_m: float
    face_centre_m: tuple[float, float]  # (right, down) from the panel's top-left corner


@functools.cache
def portrait(name: str) -> Portrait:
    if name not in FACES:
        raise UnknownFaceError(f"unknown face '{name}'; the lobby has photographs of {', '.join(FACES)}")
    photo = face_photo(name)
    x, y, w, h = photo.face_box
    height_px, width_px = photo.image.shape[:2]
    centre_x = x + w / 2.0
    left = max(0, round(centre_x - _SIDE_MARGIN_W * w))
    right = min(width_px, round(centre_x + _SIDE_MARGIN_W * w))
    top = max(0, round(y - _TOP_MARGIN_H * h))
    bottom = min(height_px, round(y + h + _BOTTOM_MARGIN_H * h))
    crop = photo.image[top:bottom, left:right]
    texture = cv2.resize(crop, (TEXTURE_PX, TEXTURE_PX), interpolation=cv2.INTER_AREA)
    texture.setflags(write=False)
    metres_per_px = FACE_WIDTH_M / w
    return Portrait(
        name=name,
        texture=texture,
        width_m=(right - left) * metres_per_px,
        height_m=(bottom - top) * metres_per_px,
        face_centre_m=((centre_x - left) * metres_per_px, (y + h / 2.0 - top) * metres_per_px),
    )
