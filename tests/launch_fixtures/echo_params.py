"""Test node: prints one JSON line with its name, namespace, parameters, remapped topic,
plain arguments and DEMO_* environment, then exits 0."""

from __future__ import annotations

import json
import os
import sys

import rclpy
from rclpy.node import Node
from rclpy.utilities import remove_ros_args
from std_msgs.msg import String

from service_desk_robot import ros_env


def main() -> int:
    ros_env.apply_loopback_defaults()
    rclpy.init(args=sys.argv)
    try:
        node = Node("echo", automatically_declare_parameters_from_overrides=True)
        names = node.list_parameters([], 0).names
        publisher = node.create_publisher(String, "chatter", 1)
        report = {
            "name": node.get_name(),
            "namespace": node.get_namespace(),
            "params": {p.name: p.value for p in node.get_parameters(names) if p.name != "use_sim_time"},
            "topic": publisher.topic_name,
            "argv": remove_ros_args(sys.argv)[1:],
            "env": {k: v for k, v in os.environ.items() if k.startswith("DEMO_")},
        }
        print("ECHO " + json.dumps(report, sort_keys=True), flush=True)
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
