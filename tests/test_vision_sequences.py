"""Synthetic camera sequences made of real face photographs, through the whole perception core.

Each sequence is rendered at 15 Hz into 640x480 frames (robot/vision/synthetic.py) and fed
to VisitorPerception with deterministic ids; the tests check ids and events, the contract
the dialogue relies on: ARRIVED, then at most one ENGAGED per visit, then LEFT. YuNet
detects on frames shrunk to 320 px wide here (4x faster on this shared machine; faces
of visitors within 3 m stay above 14 px); bench/bench_vision.py times full resolution.
"""

from __future__ import annotations

import itertools
import math

import pytest

from service_desk_robot.robot.vision import synthetic
from service_desk_robot.robot.vision.detectors import DetectorConfig, create_detector
from service_desk_robot.robot.vision.engagement import Engagement
from service_desk_robot.robot.vision.geometry import CameraIntrinsics
from service_desk_robot.robot.vision.perception import (
    EventKind,
    FrameResult,
    PerceptionConfig,
    VisitorPerception,
    crop,
)
from service_desk_robot.robot.vision.tracker import TrackerConfig, sequential_ids

RATE_HZ = 15.0
CONFIG = PerceptionConfig(tracker=TrackerConfig(confirm_frames=3, drop_after_misses=8))


@pytest.fixture(scope="module")
def yunet():
    return create_detector("yunet", DetectorConfig(max_input_width_px=320))


def play(detector, sequence, config: PerceptionConfig = CONFIG) -> list[FrameResult]:
    perception = VisitorPerception(detector, config, new_id=sequential_ids())
    return [
        perception.process(frame, stamp) for stamp, frame in synthetic.frames_with_stamps(sequence, RATE_HZ)
    ]


def events(results: list[FrameResult]) -> list[tuple[str, str]]:
    """(kind, visitor) with visitors named v1, v2... in order of arrival.

    Track ids count every candidate, and a distant face may flicker into a few short-lived
    unconfirmed tracks first; what must hold is one id per visit, whichever number it got.
    """
    names: dict[str, str] = {}
    log = []
    for r in results:
        for e in r.events:
            names.setdefault(e.visitor_id, f"v{len(names) + 1}")
            log.append((e.kind.name, names[e.visitor_id]))
    return log


def face_ids(results: list[FrameResult]) -> set[str]:
    return {f.id for r in results for f in r.faces}


def test_a_visitor_walks_up_stops_is_engaged_once_and_leaves(yunet):
    sequence = synthetic.approach("astronaut", from_m=3.0, stand_s=1.5) + synthetic.empty(10)
    results = play(yunet, sequence)
    assert events(results) == [("ARRIVED", "v1"), ("ENGAGED", "v1"), ("LEFT", "v1")]
    # One id for the whole visit, in every frame where the face was published.
    assert len(face_ids(results)) == 1
    engaged = next(e for r in results for e in r.events if e.kind == EventKind.ENGAGED)
    assert engaged.distance_m == pytest.approx(1.1, rel=0.2)
    standing = results[len(sequence) - 11].faces[0]
    assert standing.engagement == Engagement.ENGAGED
    assert standing.facing
    assert abs(standing.bearing_rad) < 0.05  # straight ahead
    # LEFT comes exactly M frames after the last frame with the face.
    left_frame = next(i for i, r in enumerate(results) if any(e.kind == EventKind.LEFT for e in r.events))
    assert left_frame == len(sequence) - 10 + 8 - 1


def test_the_distance_shrinks_as_the_visitor_approaches(yunet):
    results = play(yunet, synthetic.approach("hopper", from_m=3.0, stand_s=0.2))
    distances = [r.faces[0].distance_m for r in results if r.faces]
    assert distances[0] == pytest.approx(2.8, rel=0.25)
    assert distances[-1] == pytest.approx(1.1, rel=0.2)
    # Monotonic up to detector jitter.
    assert all(b < a * 1.08 for a, b in itertools.pairwise(distances))


def test_a_passer_by_at_a_distance_arrives_and_leaves_but_is_never_engaged(yunet):
    sequence = synthetic.slide("hopper", distance_m=3.0, from_x=100, to_x=700) + synthetic.empty(10)
    assert events(play(yunet, sequence)) == [("ARRIVED", "v1"), ("LEFT", "v1")]


def test_someone_walking_past_close_by_is_not_greeted(yunet):
    sequence = synthetic.slide("astronaut", distance_m=1.2) + synthetic.empty(10)
    kinds = [kind for kind, _ in events(play(yunet, sequence))]
    assert "ENGAGED" not in kinds
    assert kinds.count("ARRIVED") == kinds.count("LEFT")


def test_the_face_sliding_across_keeps_one_id_and_its_bearing_sweeps(yunet):
    results = play(yunet, synthetic.slide("hopper", distance_m=2.5, from_x=60, to_x=580))
    faces = [r.faces[0] for r in results if r.faces]
    assert len({f.id for f in faces}) == 1
    assert faces[0].bearing_rad > 0.3  # started on the robot's left
    assert faces[-1].bearing_rad < -0.3


def test_a_visitor_turned_away_is_engaged_only_once_they_face_the_robot(yunet):
    walk_up = synthetic.approach("astronaut", from_m=2.5, stand_s=0.0)
    stand = synthetic.approach("astronaut", from_m=1.1, to_m=1.1, stand_s=1.0)
    sequence = synthetic.turned(walk_up + stand) + stand
    results = play(yunet, sequence)
    assert events(results) == [("ARRIVED", "v1"), ("ENGAGED", "v1")]
    engaged_frame = next(
        i for i, r in enumerate(results) if r.events and r.events[0].kind == EventKind.ENGAGED
    )
    turned_back = len(walk_up) + len(stand)
    assert turned_back < engaged_frame <= turned_back + 6  # dwell 0.25 s at 15 Hz
    turned_face = results[turned_back - 1].faces[0]
    assert not turned_face.facing
    assert turned_face.engagement == Engagement.DISENGAGED


def test_turning_away_after_the_greeting_is_disengaging_without_a_second_engaged(yunet):
    stand = synthetic.approach("astronaut", from_m=1.1, to_m=1.1, stand_s=0.8)
    results = play(yunet, stand + synthetic.turned(stand) + stand)
    assert events(results) == [("ARRIVED", "v1"), ("ENGAGED", "v1")]
    assert results[len(stand) * 2 - 1].faces[0].engagement == Engagement.DISENGAGING
    assert results[-1].faces[0].engagement == Engagement.ENGAGED


def test_two_visitors_at_once_get_their_own_ids_and_one_greeting_each(yunet):
    left = synthetic.approach("astronaut", from_m=3.0, to_m=1.2, stand_s=1.0, cx=170)
    right = synthetic.empty(8) + synthetic.approach("hopper", from_m=3.0, to_m=1.2, stand_s=1.0, cx=470)
    results = play(yunet, synthetic.together(left, right) + synthetic.empty(10))
    log = events(results)
    assert sorted(log) == sorted(
        [
            ("ARRIVED", "v1"),
            ("ARRIVED", "v2"),
            ("ENGAGED", "v1"),
            ("ENGAGED", "v2"),
            ("LEFT", "v1"),
            ("LEFT", "v2"),
        ]
    )
    for visitor in ("v1", "v2"):
        kinds = [kind for kind, who in log if who == visitor]
        assert kinds == ["ARRIVED", "ENGAGED", "LEFT"]
    # Ids stay on their side of the frame throughout.
    left_ids = {f.id for r in results for f in r.faces if f.bearing_rad > 0}
    right_ids = {f.id for r in results for f in r.faces if f.bearing_rad < 0}
    assert len(left_ids) == len(right_ids) == 1
    assert left_ids != right_ids


def test_a_visitor_who_comes_back_is_a_new_visit_with_a_new_greeting(yunet):
    visit = synthetic.approach("astronaut", from_m=1.5, stand_s=0.8)
    results = play(yunet, visit + synthetic.empty(12) + visit)
    assert events(results) == [
        ("ARRIVED", "v1"),
        ("ENGAGED", "v1"),
        ("LEFT", "v1"),
        ("ARRIVED", "v2"),
        ("ENGAGED", "v2"),
    ]


def test_the_haar_backend_drives_the_same_events():
    sequence = synthetic.approach("astronaut", from_m=1.8, stand_s=0.8) + synthetic.empty(10)
    log = events(play(create_detector("haar", DetectorConfig(max_input_width_px=480)), sequence))
    assert log == [("ARRIVED", "v1"), ("ENGAGED", "v1"), ("LEFT", "v1")]


def test_camera_intrinsics_change_the_distance(yunet):
    stand = synthetic.approach("astronaut", from_m=1.1, to_m=1.1, stand_s=0.4)
    perception = VisitorPerception(yunet, CONFIG, new_id=sequential_ids())
    # A longer lens at twice the resolution: fx doubles after scaling to 640x480.
    perception.set_intrinsics(CameraIntrinsics(1280, 960, 2 * 1108.5, 2 * 1108.5, 640, 480))
    results = [perception.process(frame, stamp) for stamp, frame in synthetic.frames_with_stamps(stand)]
    assert results[-1].faces[0].distance_m == pytest.approx(2.2, rel=0.2)
    assert [e.kind for r in results for e in r.events] == [EventKind.ARRIVED]  # too far now


def test_crops_are_cut_only_on_request_and_stay_inside_the_frame(yunet):
    stand = synthetic.approach("hopper", from_m=1.1, to_m=1.1, stand_s=0.3)
    frames = list(synthetic.frames_with_stamps(stand))
    results = play(yunet, stand)
    face = results[-1].faces[0]
    patch = crop(frames[-1][1], face, margin=0.2)
    assert patch.shape[0] == pytest.approx(face.height * 1.4, abs=2)
    assert patch.shape[1] == pytest.approx(face.width * 1.4, abs=2)
    assert not math.isnan(face.distance_m)
