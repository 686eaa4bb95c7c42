"""sim_camera over DDS: frames and camera_info flow, a visitor sent on
/sim/lobby_commands shows up with a detectable face where it stands, and a bad command
is counted on /diagnostics without stopping the frames."""

from __future__ import annotations

import json
import threading

import cv2
import pytest
from support import wait_until

pytestmark = pytest.mark.ros

HAAR = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def test_node_renders_the_visitors_it_is_told_about(ros_spin) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import String

    from service_desk_robot.nodes import qos
    from service_desk_robot.nodes.images import image_to_bgr
    from service_desk_robot.nodes.sim_camera import SimCameraNode
    from service_desk_robot.sim.lobby import read_world
    from service_desk_robot.sim.lobby.scene import FACE_CENTRE_HEIGHT_M, PANEL_OFFSET_M

    lock = threading.Lock()
    latest: dict[str, object] = {}
    frame_count = [0]

    def keep(key: str):
        def callback(msg: object) -> None:
            with lock:
                latest[key] = msg
                if key == "image":
                    frame_count[0] += 1

        return callback

    camera = SimCameraNode()
    probe = Node("sim_camera_probe")
    probe.create_subscription(Image, "/camera/image_raw", keep("image"), qos.sensor_stream())
    probe.create_subscription(CameraInfo, "/camera/camera_info", keep("info"), qos.sensor_stream())
    probe.create_subscription(DiagnosticArray, "/diagnostics", keep("diagnostics"), 10)
    commands = probe.create_publisher(String, "/sim/lobby_commands", qos.events())
    ros_spin(camera, probe)

    wait_until(lambda: "image" in latest and "info" in latest, 20, message="the first frame")
    wait_until(lambda: commands.get_subscription_count() > 0, 10, message="sim_camera to subscribe")
    stop = [1.1, 0.0]
    arrive = {"op": "arrive", "visitor": "v01", "face": "astronaut", "path": [stop], "speed_mps": 1.0}
    commands.publish(String(data=json.dumps(arrive)))
    commands.publish(String(data="{not json"))

    with lock:
        info = latest["info"]
    fx, cx, fy, cy = info.k[0], info.k[2], info.k[4], info.k[5]
    assert (info.width, info.height, cx, cy) == (640, 480, 320.0, 240.0)
    # Where the face must appear: the visitor faces the robot, its face panel in front of it.
    lens = read_world().camera
    face = (stop[0] - PANEL_OFFSET_M, 0.0, FACE_CENTRE_HEIGHT_M)
    u, v = lens.project(face)
    assert fx == pytest.approx(lens.fx)
    assert fy == pytest.approx(lens.fy)

    def face_at_expected_place() -> bool:
        with lock:
            image = latest["image"]
        gray = cv2.cvtColor(image_to_bgr(image), cv2.COLOR_BGR2GRAY)
        boxes = HAAR.detectMultiScale(gray, 1.1, 5, minSize=(24, 24))
        return any(x <= u <= x + w and y <= v <= y + h for x, y, w, h in boxes)

    wait_until(face_at_expected_place, 20, interval_s=0.2, message="the visitor's face in a frame")

    def bad_command_counted() -> bool:
        with lock:
            array = latest.get("diagnostics")
        for status in getattr(array, "status", []):
            values = {kv.key: kv.value for kv in status.values}
            if status.name == "sim_camera: renderer" and values.get("command_errors") == "1":
                return True
        return False

    wait_until(bad_command_counted, 10, interval_s=0.1, message="the bad command on /diagnostics")
    before = frame_count[0]
    wait_until(lambda: frame_count[0] > before + 2, 10, message="frames after the bad command")
