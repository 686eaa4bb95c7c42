"""The camera and face_detector nodes in-process: images in, faces and visitor events out."""

from __future__ import annotations

import threading

import cv2
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image
from support import wait_until

from service_desk_interfaces.msg import FaceList, VisitorEvent
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.camera import CameraNode
from service_desk_robot.nodes.face_detector import FaceDetectorNode
from service_desk_robot.nodes.images import array_to_image
from service_desk_robot.robot.vision import synthetic

pytestmark = pytest.mark.ros

FAST = [Parameter("deterministic_ids", value=True), Parameter("max_input_width_px", value=320)]


class Probe(Node):
    """Publishes frames like a camera and records what the vision nodes say."""

    def __init__(self) -> None:
        super().__init__("vision_probe")
        self.lock = threading.Lock()
        self.faces: list[FaceList] = []
        self.events: list[VisitorEvent] = []
        self.statuses: list[DiagnosticStatus] = []
        self.frames = 0
        self.info: list[CameraInfo] = []
        self.crops: list[Image] = []
        self.images = self.create_publisher(Image, "/camera/image_raw", qos.events(depth=2))
        self.create_subscription(FaceList, "/desk/faces", self._keep(self.faces), qos.events())
        self.create_subscription(VisitorEvent, "/desk/visitor_events", self._keep(self.events), qos.events())
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.create_subscription(Image, "/camera/image_raw", self._on_frame, qos.sensor_stream())
        self.create_subscription(
            CameraInfo, "/camera/camera_info", self._keep(self.info), qos.sensor_stream()
        )
        self.crops_sub = self.create_subscription(
            Image, "/desk/face_crops", self._keep(self.crops), qos.events()
        )

    def _keep(self, into: list):
        def callback(msg) -> None:
            with self.lock:
                into.append(msg)

        return callback

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self.lock:
            self.statuses.extend(msg.status)

    def _on_frame(self, msg: Image) -> None:
        with self.lock:
            self.frames += 1

    def status(self, name: str) -> DiagnosticStatus | None:
        with self.lock:
            return next((s for s in reversed(self.statuses) if s.name == name), None)

    def event_log(self) -> list[tuple[int, str]]:
        with self.lock:
            return [(e.event, e.visitor_id) for e in self.events]


def _stamp(seconds: float) -> Time:
    return Time(sec=int(seconds), nanosec=round((seconds % 1) * 1e9))


def test_frames_in_lockstep_give_arrived_engaged_left_and_bad_frames_do_no_harm(ros_spin):
    """GIVEN the detector, WHEN a visitor walks up, stands and leaves (plus junk frames),
    THEN /desk/visitor_events carries ARRIVED, ENGAGED, LEFT for one id, and it keeps going."""
    probe = Probe()
    detector = FaceDetectorNode(parameter_overrides=FAST)
    ros_spin(probe, detector)
    wait_until(lambda: probe.images.get_subscription_count() >= 2, message="detector subscribed")

    junk = Image(height=1, width=1, encoding="bgr8", step=3)
    junk.data = b"\x00\x00\x00"
    wrong = Image(height=2, width=2, encoding="yuv422", step=4)
    wrong.data = bytes(8)
    sequence = synthetic.approach("astronaut", from_m=1.8, stand_s=0.6) + synthetic.empty(9)
    for i, (stamp_s, frame) in enumerate(synthetic.frames_with_stamps(sequence)):
        if i in (5, 12):
            probe.images.publish(junk if i == 5 else wrong)
        before = len(probe.faces)
        probe.images.publish(array_to_image(frame, "bgr8", _stamp(100 + stamp_s), "camera_optical_frame"))
        wait_until(
            lambda before=before: len(probe.faces) > before, timeout_s=5, message=f"faces of frame {i}"
        )

    wait_until(lambda: len(probe.events) >= 3, timeout_s=3, message="three events")
    assert probe.event_log() == [
        (VisitorEvent.ARRIVED, "f1"),
        (VisitorEvent.ENGAGED, "f1"),
        (VisitorEvent.LEFT, "f1"),
    ]
    engaged = probe.events[1]
    assert 0.8 < engaged.distance_m < 1.5
    assert engaged.header.frame_id == "camera_optical_frame"
    standing = next(f for f in probe.faces if f.faces and f.faces[0].engagement == 3)
    assert standing.faces[0].id == "f1"
    assert standing.faces[0].facing
    assert probe.faces[-1].faces == []  # the lobby is empty again
    assert probe.crops == []  # privacy: no face image leaves the node by default

    def final_health() -> DiagnosticStatus | None:
        status = probe.status("face_detector: faces")
        values = {kv.key: kv.value for kv in status.values} if status else {}
        return status if values.get("processed") == str(len(sequence)) else None

    health = wait_until(final_health, timeout_s=3, message="diagnostics after the last frame")
    assert health.level != DiagnosticStatus.ERROR  # OK, or WARN "slow" when this machine is busy
    values = {kv.key: kv.value for kv in health.values}
    assert int(values["bad_frames"]) + int(values["dropped_stale"]) >= 1
    assert float(values["processing_ms"]) > 0


def test_face_crops_are_published_only_when_enabled(ros_spin):
    probe = Probe()
    detector = FaceDetectorNode(parameter_overrides=[*FAST, Parameter("publish_crops", value=True)])
    ros_spin(probe, detector)
    wait_until(lambda: probe.images.get_subscription_count() >= 2, message="detector subscribed")
    wait_until(lambda: probe.crops_sub.get_publisher_count() >= 1, message="crops publisher matched")
    standing = synthetic.approach("hopper", from_m=1.1, to_m=1.1, stand_s=0.4)
    for i, (stamp_s, frame) in enumerate(synthetic.frames_with_stamps(standing)):
        before = len(probe.faces)
        probe.images.publish(array_to_image(frame, "bgr8", _stamp(50 + stamp_s)))
        wait_until(
            lambda before=before: len(probe.faces) > before, timeout_s=5, message=f"faces of frame {i}"
        )
    wait_until(lambda: probe.crops, timeout_s=2, message="a face crop")
    crop = probe.crops[0]
    assert crop.header.frame_id == "f1"
    assert crop.encoding == "bgr8"
    assert 80 < crop.width < 160  # the face box and a margin, not the frame


def test_an_unknown_backend_is_a_diagnostic_error_and_the_node_stays_up(ros_spin):
    probe = Probe()
    detector = FaceDetectorNode(parameter_overrides=[Parameter("backend", value="res10")])
    ros_spin(probe, detector)
    status = wait_until(lambda: probe.status("face_detector: faces"), timeout_s=4, message="diagnostics")
    assert status.level == DiagnosticStatus.ERROR
    assert "unknown face detector backend 'res10'" in status.message
    probe.images.publish(array_to_image(synthetic.background().copy()))  # ignored, no crash
    assert detector.get_parameter("backend").value == "res10"


def test_the_camera_node_streams_a_folder_into_the_detector(ros_spin, tmp_path):
    """Camera (a folder of one photo) -> face_detector -> ARRIVED and ENGAGED, end to end."""
    cv2.imwrite(
        str(tmp_path / "visitor.png"), synthetic.render([synthetic.Placement("hopper", 300, 220, 80)])
    )
    probe = Probe()
    camera = CameraNode(
        parameter_overrides=[Parameter("device", value=str(tmp_path)), Parameter("rate_hz", value=15.0)]
    )
    detector = FaceDetectorNode(parameter_overrides=FAST)
    ros_spin(probe, camera, detector)
    wait_until(lambda: len(probe.events) >= 2, timeout_s=8, message="ARRIVED and ENGAGED")
    assert probe.event_log()[:2] == [(VisitorEvent.ARRIVED, "f1"), (VisitorEvent.ENGAGED, "f1")]
    with probe.lock:
        info = probe.info[-1]
    assert (info.width, info.height) == (640, 480)
    assert info.k[0] == pytest.approx(320 / 0.57735, rel=1e-3)  # 60 deg field of view
    status = wait_until(lambda: probe.status("camera: camera"), timeout_s=3, message="camera diagnostics")
    assert status.level in (DiagnosticStatus.OK, DiagnosticStatus.WARN)


def test_a_missing_camera_device_is_one_diagnostic_error_not_a_crash(ros_spin):
    probe = Probe()
    camera = CameraNode(parameter_overrides=[Parameter("device", value="/dev/video-missing")])
    ros_spin(probe, camera)
    status = wait_until(lambda: probe.status("camera: camera"), timeout_s=4, message="camera diagnostics")
    assert status.level == DiagnosticStatus.ERROR
    assert "/dev/video-missing does not exist" in status.message
    assert probe.frames == 0
