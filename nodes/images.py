"""sensor_msgs/Image <-> numpy, the project's one image conversion helper (cv_bridge has no wheel).

Encodings: bgr8, rgb8 (3 channels) and mono8 (1 channel), 8 bits, any row `step` (padded
rows are sliced off). `image_to_array` returns the encoding's own channel order;
`image_to_bgr` always returns BGR, the order OpenCV and the detectors use. Anything
else (another encoding, a data buffer shorter than height x step, a step shorter than a
row, a huge or empty image) raises `ImageConversionError`, a FrameError, so a node can
skip the frame and go on. Pure functions, thread-safe; results never share memory with
the message.
"""

from __future__ import annotations

from typing import Any, Protocol

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from service_desk_robot.robot.vision.errors import FrameError


class PinholeCamera(Protocol):
    """What camera_info needs: the camera and sim camera models both have it."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


CHANNELS = {"bgr8": 3, "rgb8": 3, "mono8": 1}
# 4096 x 4096 x 3 bytes = 48 MiB: beyond this a message is a bug, not a camera frame.
MAX_PIXELS = 4096 * 4096


class ImageConversionError(FrameError):
    """An Image message that cannot be converted (encoding, size or buffer)."""


def image_to_array(msg: Image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image as an (H, W, 3) or (H, W) uint8 array in the message's channel order."""
    channels = CHANNELS.get(msg.encoding)
    if channels is None:
        raise ImageConversionError(
            f"unsupported image encoding '{msg.encoding}'; expected one of {sorted(CHANNELS)}"
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if height * width > max_pixels:
        raise ImageConversionError(f"image {width}x{height} exceeds {max_pixels} pixels")
    row_bytes = width * channels
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is shorter than a {msg.encoding} row of {width} px ({row_bytes} bytes)"
        )
    data = msg.data
    if len(data) < step * height:
        raise ImageConversionError(f"data has {len(data)} bytes, expected step {step} x height {height}")
    buffer = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)
    pixels = buffer[:, :row_bytes]
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.array(pixels.reshape(shape), copy=True)


def image_to_bgr(msg: Image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The image as (H, W, 3) BGR uint8, whatever its supported encoding."""
    array = image_to_array(msg, max_pixels)
    if msg.encoding == "rgb8":
        return cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    if msg.encoding == "mono8":
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    return array


def array_to_image(
    array: np.ndarray, encoding: str = "bgr8", stamp: Time | None = None, frame_id: str = ""
) -> Image:
    """An Image message holding a copy of `array` (H, W, 3 for bgr8/rgb8; H, W or H, W, 1 for mono8)."""
    channels = CHANNELS.get(encoding)
    if channels is None:
        raise ImageConversionError(
            f"unsupported image encoding '{encoding}'; expected one of {sorted(CHANNELS)}"
        )
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8:
        raise ImageConversionError("array_to_image needs a uint8 numpy array")
    if array.ndim == 3 and array.shape[2] == 1 and channels == 1:
        array = array[:, :, 0]
    expected_ndim = 3 if channels > 1 else 2
    if array.ndim != expected_ndim or (channels > 1 and array.shape[2] != channels):
        raise ImageConversionError(f"array of shape {array.shape} does not fit encoding {encoding}")
    if array.size == 0:
        raise ImageConversionError(f"empty array of shape {array.shape}")
    height, width = array.shape[:2]
    msg = Image(
        header=Header(stamp=stamp or Time(), frame_id=frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels,
    )
    msg.data = np.ascontiguousarray(array).tobytes()
    return msg


def camera_info(camera: PinholeCamera, frame_id: str, stamp: Any) -> CameraInfo:
    """A pinhole CameraInfo (no distortion) for frames of the camera's size."""
    info = CameraInfo(width=camera.width, height=camera.height, distortion_model="plumb_bob")
    info.header.stamp = stamp
    info.header.frame_id = frame_id
    info.d = [0.0] * 5
    info.k = [camera.fx, 0.0, camera.cx, 0.0, camera.fy, camera.cy, 0.0, 0.0, 1.0]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [camera.fx, 0.0, camera.cx, 0.0, 0.0, camera.fy, camera.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info
