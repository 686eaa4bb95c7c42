"""sim_camera: the lobby simulator's camera (the real robot runs `camera` instead).

Renders the SDF lobby headless (sim/lobby, PyBullet) from the robot's camera and
publishes /camera/image_raw (sensor_msgs/Image, bgr8) and /camera/camera_info at
`rate_hz`; simulated time runs `time_scale` times faster than the wall, so visitors walk
faster in `sim --fast`. World commands arrive as JSON on /sim/lobby_commands
(std_msgs/String): {"op": "arrive", "visitor": "v01", "face": "astronaut",
"path": [[x, y], ...], "speed_mps": 1.0}, {"op": "leave", "visitor": "v01"},
{"op": "clear"}. A bad command is one log line and a diagnostic count; nothing else
changes.

Threading: the subscription callback only queues the command text; the timer (its own
mutually exclusive group) applies queued commands in arrival order, steps the world,
renders and publishes, so the Lobby is only ever touched from that one callback
(and by `close()`, which waits for it).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.images import array_to_image, camera_info
from service_desk_robot.nodes.params import config_dir, yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.sim.lobby import Lobby, LobbyError

NAME = "sim_camera"
MAX_QUEUED_COMMANDS = 1000  # a flood beyond this is dropped (and counted), oldest kept
LOBBY = Path("sim") / "worlds" / "lobby.sdf"


def _lobby_world() -> Path:
    """The package's lobby world: next to the installed config/, else in this checkout (an
    install made before sim/worlds existed has config/ but no world)."""
    installed = config_dir().parent / LOBBY
    return installed if installed.is_file() else Path(__file__).resolve().parent.parent / LOBBY


class SimCameraNode(Node):
    def __init__(self) -> None:
        super().__init__(NAME)
        defaults = yaml_defaults(NAME)

        def param(name: str, description: str, **extra: Any) -> Any:
            descriptor = ParameterDescriptor(description=description, read_only=True, **extra)
            return self.declare_parameter(name, defaults[name], descriptor).value

        positive = [FloatingPointRange(from_value=0.01, to_value=1000.0)]
        self._rate_hz = float(
            param("rate_hz", "frames per second of wall time", floating_point_range=positive)
        )
        self._time_scale = float(
            param("time_scale", "simulated seconds per wall second", floating_point_range=positive)
        )
        width = int(param("width", "image width in pixels"))
        height = int(param("height", "image height in pixels"))
        world = str(param("world", "SDF world file; empty = the package's sim/worlds/lobby.sdf"))
        self._frame_id = str(param("frame_id", "frame_id of the images and camera_info"))
        shadows = bool(param("shadows", "render shadows (about five times slower)"))
        self._stale_after_s = float(
            param("stale_after_s", "diagnostic ERROR after this long without a frame")
        )
        world_path = Path(world) if world else _lobby_world()

        self._lock = threading.Lock()  # guards the queue and the figures below
        self._lobby_lock = threading.Lock()  # held while the timer uses the lobby; close() waits on it
        self._queue: deque[str] = deque()
        self._dropped = 0
        self._command_errors = 0
        self._last_error = ""
        self._frames = 0
        self._visitors = 0
        self._sim_time_s = 0.0
        self._render_s = 0.0
        self._last_frame = time.monotonic()
        self._last_tick: float | None = None
        self._lobby: Lobby | None = None
        self._load_error = ""
        try:
            self._lobby = Lobby(world_path, width=width, height=height, shadows=shadows)
            self.get_logger().info(
                f"lobby {world_path} loaded; {width}x{height} at {self._rate_hz:g} Hz, "
                f"time x{self._time_scale:g}"
            )
        except LobbyError as error:
            self._load_error = str(error)
            self.get_logger().error(f"cannot load the lobby world: {error}; no frames will be published")

        self._image_pub = self.create_publisher(Image, "/camera/image_raw", qos.camera_frames())
        self._info_pub = self.create_publisher(CameraInfo, "/camera/camera_info", qos.camera_frames())
        self.create_subscription(String, "/sim/lobby_commands", self._on_command, qos.events())
        self._diagnostics = Diagnostics(self, hardware_id=f"pybullet:{world_path.name}")
        self._diagnostics.add("renderer", self._health)
        if self._lobby is not None:
            self.create_timer(
                1.0 / self._rate_hz, self._tick, callback_group=MutuallyExclusiveCallbackGroup()
            )

    def close(self) -> None:
        with self._lobby_lock:
            if self._lobby is not None:
                self._lobby.close()
                self._lobby = None

    # -- callbacks -------------------------------------------------------------------------

    def _on_command(self, msg: String) -> None:
        with self._lock:
            if len(self._queue) >= MAX_QUEUED_COMMANDS:
                self._dropped += 1
                return
            self._queue.append(msg.data)

    def _tick(self) -> None:
        with self._lobby_lock:
            if self._lobby is not None:
                self._render_once(self._lobby)

    def _render_once(self, lobby: Lobby) -> None:
        now = time.monotonic()
        dt = 0.0 if self._last_tick is None else now - self._last_tick
        self._last_tick = now
        with self._lock:
            commands = list(self._queue)
            self._queue.clear()
        for text in commands:
            self._apply(lobby, text)
        for visitor in lobby.step(dt * self._time_scale):
            self.get_logger().info(f"{visitor} has left the lobby")
        started = time.perf_counter()
        frame = lobby.render()
        stamp = self.get_clock().now().to_msg()
        self._image_pub.publish(array_to_image(frame.image, "bgr8", stamp, self._frame_id))
        self._info_pub.publish(camera_info(frame.camera, self._frame_id, stamp))
        with self._lock:
            self._frames += 1
            self._render_s = time.perf_counter() - started
            self._last_frame = time.monotonic()
            self._visitors = len(lobby.crowd.visitors)
            self._sim_time_s = lobby.time_s

    def _apply(self, lobby: Lobby, text: str) -> None:
        try:
            command = json.loads(text)
            summary = lobby.apply(command)
        except (json.JSONDecodeError, LobbyError) as error:
            with self._lock:
                self._command_errors += 1
                self._last_error = str(error)
            self.get_logger().error(f"world command rejected: {error} (command: {text[:200]!r})")
            return
        self.get_logger().info(summary)

    def _health(self) -> Health:
        if self._load_error:
            return Health.error(f"world not loaded: {self._load_error}")
        with self._lock:
            values = {
                "frames": self._frames,
                "render_ms": round(self._render_s * 1000, 1),
                "visitors": self._visitors,
                "sim_time_s": round(self._sim_time_s, 1),
                "command_errors": self._command_errors,
                "commands_dropped": self._dropped,
                "last_command_error": self._last_error,
            }
            age = time.monotonic() - self._last_frame
        if age > self._stale_after_s:
            return Health.error(f"no frame for {age:.1f} s", **values)
        if self._render_s > 1.0 / self._rate_hz:
            return Health.warn(f"rendering is slower than {self._rate_hz:g} Hz", **values)
        if self._command_errors:
            return Health.warn(f"{self._command_errors} world command(s) rejected", **values)
        return Health.ok("rendering", **values)


def main() -> int:
    return run_node(SimCameraNode)


if __name__ == "__main__":
    raise SystemExit(main())
