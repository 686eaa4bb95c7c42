"""The `face_detector` node: who is in front of the robot, and when to greet them.

Wiring only; the work is in service_desk_robot.robot.vision (VisitorPerception):
- subscribes /camera/image_raw (sensor_msgs/Image: bgr8, rgb8, mono8; sensor-stream QoS)
  and /camera/camera_info (intrinsics for the distance estimate);
- publishes /desk/faces (FaceList, every processed frame, confirmed faces only) and
  /desk/visitor_events (VisitorEvent ARRIVED / ENGAGED / LEFT, events QoS);
- with publish_crops only: /desk/face_crops (Image per confirmed face, frame_id = face id);
- diagnostics: backend, processing time against its budget, processed rate, dropped and
  bad frames.

Privacy: faces are boxes and numbers; no image is stored, no identity recognised.

Threading: the image callback only keeps the newest message (replacing an unprocessed
one, counted as dropped), so latency stays at most one frame behind; one worker thread
converts, detects, tracks and publishes. camera_info swaps an immutable intrinsics value.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from service_desk_interfaces.msg import Face, FaceList, VisitorEvent
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.images import array_to_image, image_to_bgr
from service_desk_robot.nodes.params import yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.vision.detectors import DetectorConfig, create_detector
from service_desk_robot.robot.vision.engagement import EngagementConfig
from service_desk_robot.robot.vision.errors import FrameError, VisionError
from service_desk_robot.robot.vision.geometry import CameraIntrinsics
from service_desk_robot.robot.vision.perception import (
    EventKind,
    FrameResult,
    PerceptionConfig,
    VisitorPerception,
    crop,
)
from service_desk_robot.robot.vision.tracker import TrackerConfig, random_ids, sequential_ids

NAME = "face_detector"
WINDOW = 30  # frames in the processing-time and rate figures


def _seconds(stamp: Any) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class FaceDetectorNode(Node):
    def __init__(self, **node_options: Any) -> None:
        super().__init__(NAME, **node_options)
        defaults = yaml_defaults(NAME)

        def param(name: str, description: str, low: float | None = None, high: float | None = None) -> Any:
            descriptor = ParameterDescriptor(description=description, read_only=True)
            value = defaults[name]
            if low is not None and isinstance(value, float):
                descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
            elif low is not None and isinstance(value, int) and not isinstance(value, bool):
                descriptor.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
            return self.declare_parameter(name, value, descriptor).value

        backend = param("backend", "face detector backend: yunet or haar")
        detector_config = DetectorConfig(
            min_confidence=param("min_confidence", "detector score below which a box is ignored", 0.0, 1.0),
            max_input_width_px=param(
                "max_input_width_px", "shrink wider frames to this before detecting", 64, 4096
            ),
            min_face_px=param("min_face_px", "ignore face boxes narrower than this, px", 1, 1000),
            max_yaw_ratio=param("max_yaw_ratio", "facing: largest nose offset, in eye distances", 0.0, 2.0),
            max_roll_deg=param("max_roll_deg", "facing: largest eye-line tilt, degrees", 0.0, 90.0),
            threads=param("detector_threads", "threads per frame for the detector (YuNet OpenMP)", 1, 16),
        )
        config = PerceptionConfig(
            tracker=TrackerConfig(
                confirm_frames=param(
                    "confirm_frames", "consecutive frames before a face is confirmed", 1, 100
                ),
                drop_after_misses=param(
                    "drop_after_misses", "missed frames before a face is dropped", 1, 1000
                ),
            ),
            engagement=EngagementConfig(
                engage_distance_m=param(
                    "engage_distance_m", "engaged only within this distance, m", 0.1, 10.0
                ),
                dwell_s=param("dwell_s", "close, facing and still this long before ENGAGED, s", 0.0, 10.0),
                max_speed_widths_s=param(
                    "max_speed_widths_s",
                    "standing still: face centre speed below this, widths/s",
                    0.01,
                    100.0,
                ),
            ),
            horizontal_fov_deg=param(
                "horizontal_fov_deg", "lens field of view until camera_info arrives", 1.0, 179.0
            ),
            face_width_m=param("face_width_m", "real width of a face box, m; 0 = backend default", 0.0, 0.5)
            or None,
        )
        deterministic = param("deterministic_ids", "face ids f1, f2... instead of short random ones")
        self._publish_crops = param("publish_crops", "publish face crops on /desk/face_crops (privacy: off)")
        self._budget_s = (
            param("budget_ms", "processing time per frame above which diagnostics WARN, ms", 1.0, 10000.0)
            / 1000
        )
        self._stale_after_s = param(
            "stale_after_s", "WARN when no frame arrived for this long, s", 0.1, 3600.0
        )

        self._perception: VisitorPerception | None = None
        self._fault = ""
        try:
            detector = create_detector(backend, detector_config)
            self._perception = VisitorPerception(
                detector, config, new_id=sequential_ids() if deterministic else random_ids()
            )
        except VisionError as error:
            # One clear line and a diagnostic ERROR; the node stays up for staff to see it.
            self._fault = str(error)
            self.get_logger().error(f"face detection disabled: {error}")

        self._lock = threading.Lock()
        self._pending: Image | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._times_s: deque[float] = deque(maxlen=WINDOW)  # processing time per frame
        self._done_at: deque[float] = deque(maxlen=WINDOW)  # monotonic time each frame finished
        self._received = self._processed = self._dropped = self._bad = 0
        self._last_bad = ""
        self._last_frame_at: float | None = None
        self._faces_now = 0
        self._engaged_total = 0

        self._faces_pub = self.create_publisher(FaceList, "/desk/faces", qos.events(depth=5))
        self._events_pub = self.create_publisher(VisitorEvent, "/desk/visitor_events", qos.events())
        self._crops_pub = (
            self.create_publisher(Image, "/desk/face_crops", qos.events(depth=5))
            if self._publish_crops
            else None
        )
        self.create_subscription(Image, "/camera/image_raw", self._on_image, qos.sensor_stream())
        self.create_subscription(CameraInfo, "/camera/camera_info", self._on_camera_info, qos.sensor_stream())
        self._diagnostics = Diagnostics(self, hardware_id=f"face detector {backend}")
        self._diagnostics.add("faces", self._health)
        self._worker = threading.Thread(target=self._work, name="face-detector", daemon=True)
        self._worker.start()
        self.get_logger().info(
            f"face detector {backend}: confirm after {config.tracker.confirm_frames} frames, drop after "
            f"{config.tracker.drop_after_misses}, engage within {config.engagement.engage_distance_m} m "
            f"for {config.engagement.dwell_s} s; crops {'PUBLISHED' if self._publish_crops else 'off'}"
        )

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._worker.join(timeout=5.0)

    # --- callbacks: copy into guarded state only ---------------------------------------

    def _on_image(self, msg: Image) -> None:
        with self._lock:
            if self._pending is not None:
                self._dropped += 1  # a newer frame replaces one never processed
            self._pending = msg
            self._received += 1
            self._last_frame_at = time.monotonic()
        self._wake.set()

    def _on_camera_info(self, msg: CameraInfo) -> None:
        if self._perception is None or msg.width == 0 or msg.height == 0 or msg.k[0] <= 0:
            return
        try:
            intrinsics = CameraIntrinsics(msg.width, msg.height, msg.k[0], msg.k[4], msg.k[2], msg.k[5])
        except VisionError as error:
            self.get_logger().warning(f"ignoring camera_info: {error}", throttle_duration_sec=10.0)
            return
        self._perception.set_intrinsics(intrinsics)

    # --- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            with self._lock:
                msg, self._pending = self._pending, None
            if msg is None or self._perception is None:
                continue
            started = time.monotonic()
            try:
                result = self._process(msg, self._perception)
            except FrameError as error:
                with self._lock:
                    self._bad += 1
                    self._last_bad = str(error)
                self.get_logger().warning(f"skipping frame: {error}", throttle_duration_sec=5.0)
                continue
            except VisionError as error:
                with self._lock:
                    self._fault = str(error)
                self.get_logger().error(f"face detection failed: {error}", throttle_duration_sec=5.0)
                continue
            finished = time.monotonic()
            with self._lock:
                self._processed += 1
                self._fault = ""
                self._times_s.append(finished - started)
                self._done_at.append(finished)
                self._faces_now = len(result.faces)

    def _process(self, msg: Image, perception: VisitorPerception) -> FrameResult:
        frame = image_to_bgr(msg)
        stamp = msg.header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:
            stamp = self.get_clock().now().to_msg()  # an unstamped source: stamp on arrival
        result = perception.process(frame, _seconds(stamp))
        faces = FaceList()
        faces.header.stamp = stamp
        faces.header.frame_id = msg.header.frame_id
        for state in result.faces:
            faces.faces.append(
                Face(
                    id=state.id,
                    x=state.x,
                    y=state.y,
                    width=state.width,
                    height=state.height,
                    confidence=state.confidence,
                    distance_m=state.distance_m,
                    bearing_rad=state.bearing_rad,
                    facing=state.facing,
                    engagement=int(state.engagement),
                    frames_seen=state.frames_seen,
                )
            )
            if self._crops_pub is not None and state.frames_seen > 0:
                self._crops_pub.publish(array_to_image(crop(frame, state), "bgr8", stamp, state.id))
        self._faces_pub.publish(faces)
        for event in result.events:
            out = VisitorEvent(
                event=int(event.kind), visitor_id=event.visitor_id, distance_m=event.distance_m
            )
            out.header.stamp = stamp
            out.header.frame_id = msg.header.frame_id
            self._events_pub.publish(out)
            self.get_logger().info(
                f"{event.kind.name} {event.visitor_id}"
                + ("" if math.isnan(event.distance_m) else f" at {event.distance_m:.1f} m")
            )
            if event.kind == EventKind.ENGAGED:
                with self._lock:
                    self._engaged_total += 1
        return result

    # --- diagnostics -------------------------------------------------------------------

    def _health(self) -> Health:
        with self._lock:
            times = list(self._times_s)
            done = list(self._done_at)
            values: dict[str, object] = {
                "received": self._received,
                "processed": self._processed,
                "dropped_stale": self._dropped,
                "bad_frames": self._bad,
                "last_bad_frame": self._last_bad,
                "faces": self._faces_now,
                "engaged_total": self._engaged_total,
            }
            fault, last_frame_at = self._fault, self._last_frame_at
        mean_ms = 1000 * sum(times) / len(times) if times else 0.0
        rate_hz = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
        values.update(processing_ms=f"{mean_ms:.1f}", max_ms=f"{1000 * max(times, default=0):.1f}")
        values.update(rate_hz=f"{rate_hz:.1f}", budget_ms=f"{1000 * self._budget_s:.0f}")
        if fault:
            return Health.error(f"face detection failed: {fault}", **values)
        if last_frame_at is None:
            return Health.warn("no camera frame yet on /camera/image_raw", **values)
        silent_s = time.monotonic() - last_frame_at
        if silent_s > self._stale_after_s:
            return Health.warn(f"no camera frame for {silent_s:.0f} s", **values)
        if mean_ms > 1000 * self._budget_s:
            return Health.warn(
                f"slow: {mean_ms:.0f} ms per frame (budget {1000 * self._budget_s:.0f} ms)", **values
            )
        return Health.ok(f"{rate_hz:.1f} fps, {mean_ms:.0f} ms per frame", **values)


def main(args: list[str] | None = None) -> int:
    return run_node(FaceDetectorNode, args=args)


if __name__ == "__main__":
    raise SystemExit(main())
