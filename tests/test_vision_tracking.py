"""Tracker, engagement and geometry on scripted detections: ids, confirmation, loss, dwell."""

from __future__ import annotations

import math
import random

import pytest

from service_desk_robot.robot.vision.detectors import Detection
from service_desk_robot.robot.vision.engagement import Engagement, EngagementConfig, EngagementState
from service_desk_robot.robot.vision.errors import VisionError
from service_desk_robot.robot.vision.geometry import CameraIntrinsics
from service_desk_robot.robot.vision.tracker import FaceTracker, TrackerConfig, random_ids, sequential_ids

DT = 1 / 15


def face(x: float, y: float = 200, w: int = 60, facing: bool = True) -> Detection:
    return Detection(round(x), round(y), w, round(w * 1.25), 0.9, facing)


def test_a_face_is_confirmed_after_n_consecutive_frames_with_a_stable_id():
    tracker = FaceTracker(TrackerConfig(confirm_frames=3), sequential_ids())
    updates = [tracker.update([face(100 + 5 * i)], i * DT) for i in range(6)]
    assert [len(u.confirmed) for u in updates] == [0, 0, 1, 0, 0, 0]
    assert {t.id for u in updates for t in u.tracks} == {"f1"}
    assert updates[-1].tracks[0].hits == 6


def test_an_unconfirmed_face_missed_once_is_dropped_silently():
    tracker = FaceTracker(TrackerConfig(confirm_frames=3), sequential_ids())
    tracker.update([face(100)], 0.0)
    tracker.update([face(100)], DT)
    update = tracker.update([], 2 * DT)
    assert update.tracks == []
    assert update.dropped == []  # never announced, so no LEFT either
    tracker.update([face(100)], 3 * DT)
    assert tracker.tracks[0].id == "f2"  # a new track, counting from scratch


def test_a_confirmed_face_survives_m_minus_one_misses_and_is_dropped_at_m():
    tracker = FaceTracker(TrackerConfig(confirm_frames=2, drop_after_misses=4), sequential_ids())
    for i in range(2):
        tracker.update([face(100)], i * DT)
    for i in range(3):
        update = tracker.update([], (2 + i) * DT)
        assert [t.id for t in update.tracks] == ["f1"]
        assert not update.tracks[0].visible
    # Back before the limit: the same visit, the same id.
    tracker.update([face(102)], 5 * DT)
    assert tracker.tracks[0].id == "f1"
    for i in range(4):
        update = tracker.update([], (6 + i) * DT)
    assert [t.id for t in update.dropped] == ["f1"]
    assert update.tracks == []


def test_a_fast_walker_keeps_its_id_thanks_to_the_predicted_position():
    tracker = FaceTracker(TrackerConfig(confirm_frames=2), sequential_ids())
    # 45 px per frame with a 60 px face: 0.75 widths per frame.
    for i in range(12):
        tracker.update([face(20 + 45 * i)], i * DT)
    assert [t.id for t in tracker.tracks] == ["f1"]
    assert tracker.tracks[0].speed_widths_s == pytest.approx(45 / 60 * 15)


def test_two_faces_side_by_side_keep_their_ids_even_when_listed_in_another_order():
    tracker = FaceTracker(TrackerConfig(confirm_frames=1), sequential_ids())
    tracker.update([face(100), face(400)], 0.0)
    ids = {round(t.detection.x): t.id for t in tracker.tracks}
    for i in range(1, 6):
        detections = [face(400 - i), face(100 + i)]
        tracker.update(detections if i % 2 else detections[::-1], i * DT)
    by_side = {t.detection.x < 250: t.id for t in tracker.tracks}
    assert by_side == {True: ids[100], False: ids[400]}


def test_a_sudden_change_of_size_is_another_face():
    tracker = FaceTracker(TrackerConfig(confirm_frames=1, drop_after_misses=1), sequential_ids())
    tracker.update([face(300, w=40)], 0.0)
    update = tracker.update([face(300, w=120)], DT)
    assert [t.id for t in update.tracks] == ["f2"]
    assert [t.id for t in update.dropped] == ["f1"]


def test_random_ids_are_short_and_never_collide_with_live_ones():
    repeating = iter(["fabcd", "fabcd", "fabcd", "fwxyz"])
    tracker = FaceTracker(TrackerConfig(confirm_frames=1), lambda: next(repeating))
    tracker.update([face(100), face(400)], 0.0)
    assert sorted(t.id for t in tracker.tracks) == ["fabcd", "fwxyz"]
    ids = random_ids(random.Random(3))
    assert len({ids() for _ in range(50)}) == 50
    assert all(len(ids()) == 5 for _ in range(5))


def test_an_id_factory_stuck_on_a_live_id_is_an_error():
    tracker = FaceTracker(TrackerConfig(confirm_frames=1), lambda: "f1")
    tracker.update([face(100)], 0.0)
    with pytest.raises(VisionError, match="already in use"):
        tracker.update([face(100), face(400)], DT)


@pytest.mark.parametrize(
    "config",
    [
        dict(confirm_frames=0),
        dict(drop_after_misses=0),
        dict(max_jump_widths=0),
        dict(max_size_ratio=0.5),
    ],
)
def test_nonsense_tracker_settings_are_refused(config):
    with pytest.raises(VisionError):
        TrackerConfig(**config)


# --- engagement -----------------------------------------------------------------------


def test_engaged_after_the_dwell_of_qualifying_frames_then_announced_once():
    state = EngagementState(EngagementConfig(engage_distance_m=1.5, dwell_s=0.25))
    levels = [state.observe(i * DT, 1.1, True, 0.1) for i in range(5)]
    assert levels == [Engagement.ENGAGING] * 4 + [Engagement.ENGAGED]
    assert state.due
    state.announced = True
    assert not state.due
    assert state.observe(0.4, 1.1, False, 0.1) == Engagement.DISENGAGING
    assert state.observe(0.5, 1.1, True, 0.1) == Engagement.ENGAGED  # back, without a new dwell
    assert not state.due


@pytest.mark.parametrize(
    ("distance_m", "facing", "speed"),
    [(2.0, True, 0.0), (1.0, False, 0.0), (1.0, True, 5.0), (math.nan, True, 0.0)],
    ids=["too far", "turned away", "walking past", "unknown distance"],
)
def test_not_engaged_when_far_turned_away_moving_or_unknown(distance_m, facing, speed):
    state = EngagementState(EngagementConfig(engage_distance_m=1.5, dwell_s=0.25))
    levels = {state.observe(i * DT, distance_m, facing, speed) for i in range(30)}
    assert levels == {Engagement.DISENGAGED}


def test_a_break_restarts_the_dwell():
    state = EngagementState(EngagementConfig(dwell_s=0.25))
    for i in range(3):
        state.observe(i * DT, 1.0, True, 0.0)
    state.observe(3 * DT, 1.0, False, 0.0)
    levels = [state.observe((4 + i) * DT, 1.0, True, 0.0) for i in range(5)]
    assert levels == [Engagement.ENGAGING] * 4 + [Engagement.ENGAGED]


def test_nonsense_engagement_settings_are_refused():
    with pytest.raises(VisionError):
        EngagementConfig(engage_distance_m=0)
    with pytest.raises(VisionError):
        EngagementConfig(dwell_s=-1)


# --- geometry -------------------------------------------------------------------------


def test_distance_and_bearing_from_the_pinhole_model():
    camera = CameraIntrinsics.from_fov(640, 480, 90.0)
    assert camera.fx == pytest.approx(320.0)
    assert camera.distance_m(face_width_px=48, face_width_m=0.15) == pytest.approx(1.0)
    assert math.isnan(camera.distance_m(0, 0.15))
    assert camera.bearing_rad(320) == pytest.approx(0.0)
    assert camera.bearing_rad(0) == pytest.approx(math.pi / 4)  # image left is the robot's left
    assert camera.bearing_rad(640) == pytest.approx(-math.pi / 4)


def test_intrinsics_follow_a_resized_image():
    camera = CameraIntrinsics(1280, 960, 1000.0, 1000.0, 640.0, 480.0)
    half = camera.scaled_to(640, 480)
    assert (half.fx, half.cx, half.cy) == (500.0, 320.0, 240.0)
    # The same face is the same distance away at either resolution.
    assert half.distance_m(50, 0.15) == pytest.approx(camera.distance_m(100, 0.15))
    assert camera.scaled_to(1280, 960) is camera


def test_nonsense_intrinsics_are_refused():
    with pytest.raises(VisionError):
        CameraIntrinsics(640, 480, 0.0, 0.0, 320, 240)
    with pytest.raises(VisionError):
        CameraIntrinsics.from_fov(640, 480, 0.0)
