"""Engagement of one tracked face: is this person addressing the robot, and since when?

A face *qualifies* in a frame when it is close enough (`engage_distance_m`), facing the
robot, and standing still (its centre moves less than `max_speed_widths_s` face widths
per second, so someone walking past close by is not greeted). Qualifying without a break
for `dwell_s` makes the face ENGAGED; that happens at most once per track, i.e. once per
visit. Levels follow ROS4HRI: DISENGAGED, ENGAGING (qualifying, dwell running), ENGAGED,
DISENGAGING (engaged before, not qualifying now). A frame where the face was not
detected neither breaks nor advances the dwell.

Time is the frames' own stamps (seconds), passed in by the caller. Single-threaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from service_desk_robot.robot.vision.errors import VisionError


class Engagement(IntEnum):
    """Values of service_desk_interfaces/Face ENGAGEMENT_*."""

    UNKNOWN = 0
    DISENGAGED = 1
    ENGAGING = 2
    ENGAGED = 3
    DISENGAGING = 4


@dataclass(frozen=True)
class EngagementConfig:
    engage_distance_m: float = 1.5
    dwell_s: float = 0.25
    max_speed_widths_s: float = 1.5

    def __post_init__(self) -> None:
        if self.engage_distance_m <= 0 or self.dwell_s < 0 or self.max_speed_widths_s <= 0:
            raise VisionError(f"engagement thresholds must be positive: {self}")


class EngagementState:
    """Engagement of one track; `observe` once per frame in which the track was detected."""

    def __init__(self, config: EngagementConfig) -> None:
        self._config = config
        self._dwell_since_s: float | None = None
        self.level = Engagement.UNKNOWN
        # Set by the caller once it has announced ENGAGED for this visit: never again.
        self.announced = False

    def qualifies(self, distance_m: float, facing: bool, speed_widths_s: float) -> bool:
        # NaN distances compare False: an unknown distance never qualifies.
        return (
            facing
            and distance_m <= self._config.engage_distance_m
            and speed_widths_s <= self._config.max_speed_widths_s
        )

    def observe(self, stamp_s: float, distance_m: float, facing: bool, speed_widths_s: float) -> Engagement:
        if not self.qualifies(distance_m, facing, speed_widths_s):
            self._dwell_since_s = None
            self.level = Engagement.DISENGAGING if self.announced else Engagement.DISENGAGED
            return self.level
        if self._dwell_since_s is None:
            self._dwell_since_s = stamp_s
        dwelt = stamp_s - self._dwell_since_s >= self._config.dwell_s
        self.level = Engagement.ENGAGED if self.announced or dwelt else Engagement.ENGAGING
        return self.level

    @property
    def due(self) -> bool:
        """ENGAGED and not announced yet: the caller announces it once the face is confirmed."""
        return self.level == Engagement.ENGAGED and not self.announced
