"""sensor_msgs/Image <-> numpy (nodes/images.py): every supported encoding, and bad messages."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image

from service_desk_robot.nodes.images import ImageConversionError, array_to_image, image_to_array, image_to_bgr
from service_desk_robot.robot.vision.errors import FrameError

RNG = np.random.default_rng(5)
BGR = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)


def test_bgr8_round_trip_keeps_pixels_stamp_and_frame():
    msg = array_to_image(BGR, "bgr8", Time(sec=3, nanosec=5), "camera_optical_frame")
    assert (msg.width, msg.height, msg.step, msg.encoding) == (64, 48, 192, "bgr8")
    assert msg.header.frame_id == "camera_optical_frame"
    assert msg.header.stamp.sec == 3
    assert np.array_equal(image_to_array(msg), BGR)
    assert np.array_equal(image_to_bgr(msg), BGR)


def test_rgb8_and_mono8_convert_to_bgr():
    rgb = array_to_image(BGR[:, :, ::-1].copy(), "rgb8")
    assert np.array_equal(image_to_bgr(rgb), BGR)
    grey = BGR[:, :, 0].copy()
    mono = array_to_image(grey, "mono8")
    assert image_to_array(mono).shape == (48, 64)
    out = image_to_bgr(mono)
    assert out.shape == (48, 64, 3)
    assert np.array_equal(out[:, :, 2], grey)
    assert np.array_equal(image_to_array(array_to_image(grey[:, :, None], "mono8")), grey)


def test_padded_rows_are_sliced_off():
    step = 64 * 3 + 16
    padded = np.zeros((48, step), np.uint8)
    padded[:, : 64 * 3] = BGR.reshape(48, -1)
    msg = Image(height=48, width=64, encoding="bgr8", step=step)
    msg.data = padded.tobytes()
    assert np.array_equal(image_to_bgr(msg), BGR)


def test_the_array_never_shares_memory_with_the_message():
    msg = array_to_image(BGR)
    out = image_to_bgr(msg)
    out[:] = 0
    assert np.array_equal(image_to_bgr(msg), BGR)


def _msg(**fields) -> Image:
    base = dict(height=48, width=64, encoding="bgr8", step=192)
    base.update(fields)
    data = base.pop("data", bytes(base["step"] * base["height"]))
    msg = Image(**base)
    msg.data = data
    return msg


@pytest.mark.parametrize(
    ("msg", "message"),
    [
        (_msg(encoding="yuv422"), "unsupported image encoding 'yuv422'"),
        (_msg(encoding="16UC1"), "unsupported"),
        (_msg(encoding=""), "unsupported"),
        (_msg(height=0, width=0, step=0, data=b""), "empty image"),
        (_msg(step=100), "step 100 is shorter"),
        (_msg(data=bytes(100)), "data has 100 bytes"),
        (_msg(height=5000, width=5000, step=15000, data=b""), "exceeds"),
    ],
    ids=["yuv422", "16UC1", "no encoding", "empty", "short step", "short data", "huge"],
)
def test_bad_messages_are_frame_errors(msg, message):
    with pytest.raises(ImageConversionError, match=message):
        image_to_bgr(msg)
    assert issubclass(ImageConversionError, FrameError)


@pytest.mark.parametrize(
    ("array", "encoding"),
    [
        (BGR, "bgra8"),
        (BGR.astype(np.float32), "bgr8"),
        (BGR[:, :, 0], "bgr8"),
        (BGR, "mono8"),
        (np.zeros((0, 4, 3), np.uint8), "bgr8"),
    ],
    ids=["encoding", "dtype", "grey as bgr8", "colour as mono8", "empty"],
)
def test_arrays_that_do_not_fit_the_encoding_are_refused(array, encoding):
    with pytest.raises(ImageConversionError):
        array_to_image(array, encoding)
