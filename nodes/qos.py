"""Named QoS profiles: the one place that says what each kind of topic means.

- latched state: the last value of some state a late joiner must see (queue, printer,
  dispenser, speaking, dialogue state): RELIABLE + TRANSIENT_LOCAL, depth 1.
- camera frames (publisher side): RELIABLE, depth 2, which reaches both reliable and
  sensor-stream (best effort) subscribers while a slow one never holds more than one old frame.
- sensor stream (subscriber side): camera frames, where the newest matters and old ones may drop.
- events: things that must each arrive (visitor events, utterances): RELIABLE, VOLATILE.
"""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)


def latched_state() -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


def camera_frames() -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=2,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )


def sensor_stream() -> QoSProfile:
    return qos_profile_sensor_data


def events(depth: int = 50) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=depth,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )
