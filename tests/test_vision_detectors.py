"""Face detector backends on real photographs shipped by registry packages (no downloads)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from service_desk_robot.robot.vision import synthetic
from service_desk_robot.robot.vision.detectors import (
    DetectorConfig,
    create_detector,
    head_pose,
)
from service_desk_robot.robot.vision.errors import DetectorError


@pytest.fixture(scope="module")
def yunet():
    return create_detector("yunet")


@pytest.fixture(scope="module")
def haar():
    return create_detector("haar")


def _overlap(box_a: tuple[int, int, int, int], box_b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = box_a
    bx, by, bw, bh = box_b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


@pytest.mark.parametrize(("photo", "facing"), [("astronaut", True), ("hopper", True), ("cameraman", False)])
def test_yunet_finds_the_one_face_of_each_photo(yunet, photo, facing):
    image = synthetic.face_photo(photo).image
    detections = yunet.detect(image)
    assert len(detections) == 1
    found = detections[0]
    assert _overlap((found.x, found.y, found.width, found.height), synthetic.face_photo(photo).face_box) > 0.8
    assert found.confidence > 0.8
    # The cameraman looks into his camera, three-quarter on: a face, but not addressing us.
    assert found.facing is facing


@pytest.mark.parametrize("photo", ["astronaut", "hopper"])
def test_haar_finds_frontal_faces(haar, photo):
    image = synthetic.face_photo(photo).image
    detections = haar.detect(image)
    assert len(detections) == 1
    found = detections[0]
    assert _overlap((found.x, found.y, found.width, found.height), synthetic.face_photo(photo).face_box) > 0.4
    assert found.facing


def test_haar_frontal_cascade_misses_a_three_quarter_face(haar):
    assert haar.detect(synthetic.face_photo("cameraman").image) == []


def test_yunet_finds_everyone_in_the_group_photo(yunet):
    image, placements = synthetic.group_photo()
    detections = yunet.detect(image)
    assert len(detections) == len(placements)
    for placement in placements:
        nearest = min(detections, key=lambda d: math.dist(d.center, (placement.cx, placement.cy)))
        assert math.dist(nearest.center, (placement.cx, placement.cy)) < placement.face_width_px / 2
        assert nearest.width == pytest.approx(placement.face_width_px, rel=0.25)
        assert nearest.facing is (placement.photo != "cameraman")


def test_haar_finds_the_frontal_faces_of_the_group_photo(haar):
    image, placements = synthetic.group_photo()
    frontal = [p for p in placements if p.photo != "cameraman"]
    detections = haar.detect(image)
    hits = [
        p for p in frontal if any(math.dist(d.center, (p.cx, p.cy)) < p.face_width_px / 2 for d in detections)
    ]
    assert len(hits) == len(frontal)


@pytest.mark.parametrize("backend", ["yunet", "haar"])
def test_an_empty_lobby_has_no_faces(backend):
    assert create_detector(backend).detect(synthetic.background().copy()) == []


def test_large_frames_are_shrunk_for_detection_and_boxes_scaled_back(yunet):
    image, placements = synthetic.group_photo()
    big = cv2.resize(image, (2048, 1152))
    detections = yunet.detect(big)
    assert len(detections) == len(placements)
    for placement in placements:
        assert any(
            math.dist(d.center, (placement.cx * 2, placement.cy * 2)) < placement.face_width_px
            for d in detections
        )


def test_min_confidence_and_min_face_size_filter(yunet):
    frame = synthetic.render([synthetic.Placement("astronaut", 320, 240, 30)])
    assert len(yunet.detect(frame)) == 1
    assert create_detector("yunet", DetectorConfig(min_face_px=40)).detect(frame) == []
    assert create_detector("yunet", DetectorConfig(min_confidence=0.99)).detect(frame) == []


def test_faces_cut_by_the_frame_edge_get_boxes_inside_the_frame(yunet):
    frame = synthetic.render([synthetic.Placement("hopper", 10, 470, 120)])
    for d in yunet.detect(frame):
        assert d.x >= 0
        assert d.y >= 0
        assert d.x + d.width <= 640
        assert d.y + d.height <= 480


def test_backends_are_chosen_by_name_and_unknown_names_are_a_clear_error():
    assert create_detector(" YuNet ").name == "yunet"
    assert create_detector("haar").name == "haar"
    with pytest.raises(DetectorError, match="unknown face detector backend 'res10'"):
        create_detector("res10")


def test_head_pose_from_landmarks():
    frontal = np.array([100, 100, 140, 100, 120, 120, 105, 140, 135, 140])
    yaw, roll = head_pose(frontal)
    assert yaw == pytest.approx(0.0)
    assert roll == pytest.approx(0.0)
    turned = np.array([100, 100, 140, 100, 145, 120, 120, 140, 150, 140])
    assert head_pose(turned)[0] == pytest.approx(0.625)  # nose 25 px off the eyes, 40 px apart
    tilted = np.array([100, 100, 140, 140, 120, 130, 100, 150, 130, 170])
    assert head_pose(tilted)[1] == pytest.approx(45.0)
    collapsed = np.array([100, 100, 100, 100, 100, 120, 95, 140, 105, 140])
    assert head_pose(collapsed)[0] == math.inf
