"""Bad frames get clear errors and change nothing; good ones of every layout are accepted."""

from __future__ import annotations

import numpy as np
import pytest

from service_desk_robot.robot.vision import synthetic
from service_desk_robot.robot.vision.detectors import Detection
from service_desk_robot.robot.vision.errors import FrameError
from service_desk_robot.robot.vision.frames import prepare_frame
from service_desk_robot.robot.vision.perception import VisitorPerception
from service_desk_robot.robot.vision.tracker import sequential_ids


def _huge() -> np.ndarray:
    # 20000 x 20000 x 3 without allocating it: a broadcast view of one pixel.
    return np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20000, 20000, 3))


BAD_FRAMES = {
    "none": (None, "NoneType"),
    "list": ([[1, 2], [3, 4]], "list"),
    "empty": (np.zeros((0, 0, 3), np.uint8), "empty frame"),
    "1x1": (np.zeros((1, 1, 3), np.uint8), "smaller than 16x16"),
    "float": (np.zeros((480, 640, 3), np.float32), "dtype float32"),
    "two channels": (np.zeros((480, 640, 2), np.uint8), "shape"),
    "4-D": (np.zeros((2, 48, 64, 3), np.uint8), "shape"),
    "huge": (_huge(), "exceeds the 4096 px limit"),
}


@pytest.mark.parametrize("name", BAD_FRAMES)
def test_bad_frames_are_rejected_with_a_clear_error(name):
    frame, message = BAD_FRAMES[name]
    with pytest.raises(FrameError, match=message):
        prepare_frame(frame)


def test_grey_bgra_and_single_channel_frames_become_bgr():
    grey = np.full((32, 48), 77, np.uint8)
    assert prepare_frame(grey).shape == (32, 48, 3)
    assert prepare_frame(grey[:, :, None]).shape == (32, 48, 3)
    bgra = np.zeros((32, 48, 4), np.uint8)
    bgra[..., 2] = 200
    out = prepare_frame(bgra)
    assert out.shape == (32, 48, 3)
    assert (out[..., 2] == 200).all()
    view = np.zeros((64, 96, 3), np.uint8)[::2, ::2]
    assert prepare_frame(view).flags["C_CONTIGUOUS"]


class _ScriptedDetector:
    """Returns one fixed face for every frame: the pipeline's bookkeeping without a network."""

    name = "scripted"
    face_width_m = 0.15

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: np.ndarray) -> list[Detection]:
        self.calls += 1
        return [Detection(300, 200, 30, 38, 0.9, facing=True)]  # about 3 m away: never engaged


def test_bad_frames_in_a_stream_neither_crash_nor_age_the_tracks():
    detector = _ScriptedDetector()
    perception = VisitorPerception(detector, new_id=sequential_ids())
    good = synthetic.background().copy()
    results = []
    for i, (frame, _) in enumerate([(good, ""), *BAD_FRAMES.values(), (good, ""), (good, "")]):
        try:
            results.append(perception.process(frame, stamp_s=i / 15))
        except FrameError:
            results.append(None)
    assert detector.calls == 3  # bad frames never reach the detector
    assert results[-1] is not None
    assert [e.kind.name for r in results if r for e in r.events] == ["ARRIVED"]
    assert results[-1].faces[0].id == "f1"


def test_a_frame_older_than_the_last_is_stale_and_skipped():
    perception = VisitorPerception(_ScriptedDetector(), new_id=sequential_ids())
    frame = synthetic.background().copy()
    perception.process(frame, stamp_s=2.0)
    with pytest.raises(FrameError, match="older than the last one"):
        perception.process(frame, stamp_s=1.5)
    perception.process(frame, stamp_s=2.0)  # the same stamp again is fine (a repeated frame)


def test_a_clock_that_starts_again_lets_every_visitor_go_and_tracking_restarts():
    perception = VisitorPerception(_ScriptedDetector(), new_id=sequential_ids())
    frame = synthetic.background().copy()
    arrived = [e for i in range(3) for e in perception.process(frame, stamp_s=500 + i / 15).events]
    assert [(e.kind.name, e.visitor_id) for e in arrived] == [("ARRIVED", "f1")]
    restarted = perception.process(frame, stamp_s=0.0)  # a simulator restarted
    assert [(e.kind.name, e.visitor_id) for e in restarted.events] == [("LEFT", "f1")]
    again = [e for i in range(1, 3) for e in perception.process(frame, stamp_s=i / 15).events]
    assert [(e.kind.name, e.visitor_id) for e in again] == [("ARRIVED", "f2")]
