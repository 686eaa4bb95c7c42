"""The `camera` node: frames from a V4L2 device, a video file or a folder of images.

Publishes /camera/image_raw (sensor_msgs/Image, bgr8) and /camera/camera_info at
`rate_hz`, from the source named by `device` (see robot/vision/sources.py). A missing or
failing source is one ERROR log line and a diagnostic ERROR; the node keeps running and
tries to reopen it every `reopen_period_s` (a camera plugged in later just starts
streaming). In the simulator, sim_camera publishes the same topics instead.

Threading: one timer callback in its own mutually exclusive group reads, converts and
publishes; it alone touches the source. Diagnostics read counters under a lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import cv2
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.images import array_to_image, camera_info
from service_desk_robot.nodes.params import yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.vision.errors import SourceError, SourceFinishedError, VisionError
from service_desk_robot.robot.vision.geometry import CameraIntrinsics
from service_desk_robot.robot.vision.sources import FrameSource, open_source

NAME = "camera"
WINDOW = 30  # frames in the published-rate figure


class CameraNode(Node):
    def __init__(self, **node_options: Any) -> None:
        super().__init__(NAME, **node_options)
        defaults = yaml_defaults(NAME)

        def param(name: str, description: str, low: float | None = None, high: float | None = None) -> Any:
            descriptor = ParameterDescriptor(description=description, read_only=True)
            if low is not None:
                descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
            return self.declare_parameter(name, defaults[name], descriptor).value

        self._spec = str(param("device", "V4L2 device (/dev/video0 or an index), video file or image folder"))
        self._loop = bool(param("loop", "loop a video file or image folder"))
        rate_hz = param("rate_hz", "frames published per second", 0.1, 120.0)
        self._size = (
            int(param("width", "published width, px; 0 = as delivered")),
            int(param("height", "published height, px; 0 = as delivered")),
        )
        self._frame_id = str(param("frame_id", "frame_id of the images and camera_info"))
        self._lens = {
            key: float(param(key, f"camera_info {key}, px; 0 = from horizontal_fov_deg"))
            for key in ("fx", "fy", "cx", "cy")
        }
        self._fov_deg = param("horizontal_fov_deg", "lens field of view when fx is 0, degrees", 1.0, 179.0)
        self._reopen_s = param(
            "reopen_period_s", "retry a missing or failed source this often, s", 0.1, 3600.0
        )
        self._rate_hz = rate_hz

        self._lock = threading.Lock()
        self._source: FrameSource | None = None
        self._error = ""
        self._finished = False  # a non-looping file or folder has played to its end
        self._next_open_at = 0.0
        self._published = 0
        self._published_at: deque[float] = deque(maxlen=WINDOW)
        self._intrinsics: CameraIntrinsics | None = None

        self._image_pub = self.create_publisher(Image, "/camera/image_raw", qos.camera_frames())
        self._info_pub = self.create_publisher(CameraInfo, "/camera/camera_info", qos.camera_frames())
        self._diagnostics = Diagnostics(self, hardware_id=self._spec)
        self._diagnostics.add("camera", self._health)
        self.create_timer(1.0 / rate_hz, self._tick, callback_group=MutuallyExclusiveCallbackGroup())
        self.get_logger().info(f"camera: {self._spec} at {rate_hz} fps")

    def close(self) -> None:
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.close()

    # --- the timer: the only place that touches the source ------------------------------

    def _tick(self) -> None:
        with self._lock:
            source, finished = self._source, self._finished
        if finished:
            return
        if source is None:
            source = self._open()
            if source is None:
                return
        try:
            frame = source.read()
        except SourceFinishedError as error:
            self.get_logger().info(f"{error}: no more frames (loop is false)")
            source.close()
            with self._lock:
                self._source, self._finished = None, True
            return
        except SourceError as error:
            self._fail(f"{error}; reopening in {self._reopen_s:g} s")
            source.close()
            with self._lock:
                self._source = None
            return
        width, height = self._size
        if width > 0 and height > 0 and (frame.shape[1], frame.shape[0]) != (width, height):
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        stamp = self.get_clock().now().to_msg()
        self._image_pub.publish(array_to_image(frame, "bgr8", stamp, self._frame_id))
        self._info_pub.publish(
            camera_info(self._lens_for(frame.shape[1], frame.shape[0]), self._frame_id, stamp)
        )
        with self._lock:
            self._published += 1
            self._published_at.append(time.monotonic())

    def _open(self) -> FrameSource | None:
        now = time.monotonic()
        if now < self._next_open_at:
            return None
        self._next_open_at = now + self._reopen_s
        size = self._size if self._size[0] > 0 and self._size[1] > 0 else None
        try:
            source = open_source(self._spec, loop=self._loop, size=size)
        except SourceError as error:
            self._fail(f"{error}; retrying every {self._reopen_s:g} s")
            return None
        with self._lock:
            self._source, self._error = source, ""
        self.get_logger().info(f"streaming from {source.description}")
        return source

    def _fail(self, message: str) -> None:
        with self._lock:
            repeated = message == self._error
            self._error = message
        if not repeated:  # one line per distinct fault, not one per retry
            self.get_logger().error(message)

    def _lens_for(self, width: int, height: int) -> CameraIntrinsics:
        known = self._intrinsics
        if known is not None and (known.width, known.height) == (width, height):
            return known
        lens = self._lens
        try:
            if lens["fx"] > 0:
                fy = lens["fy"] or lens["fx"]
                intrinsics = CameraIntrinsics(
                    width, height, lens["fx"], fy, lens["cx"] or width / 2, lens["cy"] or height / 2
                )
            else:
                intrinsics = CameraIntrinsics.from_fov(width, height, self._fov_deg)
        except VisionError as error:
            self.get_logger().error(f"bad lens parameters ({error}); using the field of view")
            intrinsics = CameraIntrinsics.from_fov(width, height, self._fov_deg)
        self._intrinsics = intrinsics
        return intrinsics

    # --- diagnostics -------------------------------------------------------------------

    def _health(self) -> Health:
        with self._lock:
            error, published, times = self._error, self._published, list(self._published_at)
            streaming, finished = self._source is not None, self._finished
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
        values = {
            "source": self._spec,
            "published": published,
            "rate_hz": f"{rate:.1f}",
            "target_hz": self._rate_hz,
        }
        if error:
            return Health.error(error, **values)
        if finished:
            return Health.warn("source played to its end (loop is false)", **values)
        if not streaming or not times:
            return Health.warn("opening the camera source", **values)
        if time.monotonic() - times[-1] > max(2.0, 5.0 / self._rate_hz):
            return Health.error("no frame published recently", **values)
        if len(times) == WINDOW and rate < 0.8 * self._rate_hz:
            return Health.warn(f"slow: {rate:.1f} fps of {self._rate_hz:g}", **values)
        return Health.ok(f"{rate:.1f} fps", **values)


def main(args: list[str] | None = None) -> int:
    return run_node(CameraNode, args=args)


if __name__ == "__main__":
    raise SystemExit(main())
