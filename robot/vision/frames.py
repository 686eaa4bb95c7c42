"""Validation of frames before detection: the one gate every image passes.

A frame is accepted as a uint8 array of shape (H, W) (grey), (H, W, 3) (BGR) or
(H, W, 4) (BGRA) and returned as a contiguous BGR array; anything else raises
`FrameError` with a message saying what was wrong. Pure functions, thread-safe.
"""

from __future__ import annotations

import cv2
import numpy as np

from service_desk_robot.robot.vision.errors import FrameError

# Below this a face cannot be found anyway (YuNet's smallest face is about 10 px).
MIN_SIDE_PX = 16
# Larger frames are almost certainly a bad message (a 4K camera is 3840 px wide).
DEFAULT_MAX_SIDE_PX = 4096


def prepare_frame(image: object, max_side_px: int = DEFAULT_MAX_SIDE_PX) -> np.ndarray:
    """Return `image` as a contiguous BGR uint8 array, or raise FrameError."""
    if not isinstance(image, np.ndarray):
        raise FrameError(f"frame is a {type(image).__name__}, expected a numpy array")
    if image.size == 0:
        raise FrameError(f"empty frame (shape {image.shape})")
    if image.dtype != np.uint8:
        raise FrameError(f"frame has dtype {image.dtype}, expected uint8")
    if image.ndim == 2:
        channels = 1
    elif image.ndim == 3 and image.shape[2] in (1, 3, 4):
        channels = image.shape[2]
    else:
        raise FrameError(f"frame has shape {image.shape}, expected (H, W) or (H, W, 1|3|4)")
    height, width = image.shape[:2]
    if min(height, width) < MIN_SIDE_PX:
        raise FrameError(f"frame {width}x{height} px is smaller than {MIN_SIDE_PX}x{MIN_SIDE_PX}")
    if max(height, width) > max_side_px:
        raise FrameError(f"frame {width}x{height} px exceeds the {max_side_px} px limit per side")
    if channels == 1:
        return cv2.cvtColor(image.reshape(height, width), cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(image)
