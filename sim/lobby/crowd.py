"""Visitors walking in the lobby: kinematics only, no rendering (deterministic).

A visitor arrives at the first point of its path, walks the path at its speed and
stands at the last point facing the robot; told to leave, it turns and walks the path
back and is gone at its first point. While walking it faces where it goes. Only `step`
moves time on, so the same commands and steps always give the same positions.
Not thread-safe: one owner (the renderer) calls it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from service_desk_robot.sim.lobby.errors import CommandError

Point = tuple[float, float]
ROBOT_XY: Point = (0.0, 0.0)  # the robot stands at the lobby frame's origin


class Phase(Enum):
    WALKING = "walking"
    STANDING = "standing"
    LEAVING = "leaving"


@dataclass
class Visitor:
    id: str
    face: str
    path: tuple[Point, ...]
    speed_mps: float
    position: Point
    yaw: float  # rad, the direction the visitor faces (0 = +x)
    phase: Phase
    route: list[Point]  # the points still ahead, in order


class Crowd:
    def __init__(self, bounds: tuple[float, float, float, float] | None = None) -> None:
        self._bounds = bounds  # x_min, x_max, y_min, y_max of the floor; paths must stay inside
        self.visitors: dict[str, Visitor] = {}

    def arrive(
        self, visitor_id: str, face: str, path: Sequence[Sequence[float]], speed_mps: float
    ) -> Visitor:
        """Put a visitor at the path's first point, walking; an existing id is replaced."""
        points = self._check_path(visitor_id, path)
        if not (math.isfinite(speed_mps) and speed_mps > 0):
            raise CommandError(f"visitor {visitor_id}: speed must be > 0 m/s, got {speed_mps}")
        visitor = Visitor(
            id=visitor_id,
            face=face,
            path=points,
            speed_mps=float(speed_mps),
            position=points[0],
            yaw=0.0,
            phase=Phase.WALKING,
            route=list(points[1:]),
        )
        self._face_ahead(visitor)
        self.visitors[visitor_id] = visitor
        return visitor

    def leave(self, visitor_id: str) -> Visitor:
        """Send a visitor back along its path (a no-op when it is already leaving)."""
        visitor = self.visitors.get(visitor_id)
        if visitor is None:
            raise CommandError(f"visitor {visitor_id} is not in the lobby")
        if visitor.phase is not Phase.LEAVING:
            visitor.phase = Phase.LEAVING
            # Back to the entrance: the path's points already passed, in reverse.
            passed = len(visitor.path) - len(visitor.route) - 1
            visitor.route = list(reversed(visitor.path[: passed + 1]))
            while visitor.route and math.dist(visitor.route[0], visitor.position) < 1e-9:
                visitor.route.pop(0)  # already there: turn towards the next point at once
            self._face_ahead(visitor)
        return visitor

    def clear(self) -> None:
        self.visitors.clear()

    def step(self, dt_s: float) -> list[str]:
        """Advance every visitor by `dt_s` seconds; return the ids of those who have gone."""
        if dt_s < 0:
            raise ValueError(f"time does not run backwards (dt {dt_s} s)")
        gone = []
        for visitor in self.visitors.values():
            self._walk(visitor, visitor.speed_mps * dt_s)
            if visitor.phase is Phase.LEAVING and not visitor.route:
                gone.append(visitor.id)
        for visitor_id in gone:
            del self.visitors[visitor_id]
        return gone

    def _walk(self, visitor: Visitor, distance: float) -> None:
        while visitor.route and distance > 0:
            target = visitor.route[0]
            remaining = math.dist(visitor.position, target)
            if remaining <= distance:
                visitor.position = target
                visitor.route.pop(0)
                distance -= remaining
            else:
                fraction = distance / remaining
                x, y = visitor.position
                visitor.position = (x + (target[0] - x) * fraction, y + (target[1] - y) * fraction)
                distance = 0.0
            self._face_ahead(visitor)
        if not visitor.route and visitor.phase is Phase.WALKING:
            visitor.phase = Phase.STANDING
            self._face_ahead(visitor)

    @staticmethod
    def _face_ahead(visitor: Visitor) -> None:
        """Face the next point while walking, the robot while standing."""
        if visitor.phase is Phase.LEAVING and not visitor.route:
            return
        target = visitor.route[0] if visitor.route else ROBOT_XY
        dx, dy = target[0] - visitor.position[0], target[1] - visitor.position[1]
        if math.hypot(dx, dy) > 1e-9:
            visitor.yaw = math.atan2(dy, dx)

    def _check_path(self, visitor_id: str, path: Sequence[Sequence[float]]) -> tuple[Point, ...]:
        if not isinstance(path, Sequence) or isinstance(path, str) or not path:
            raise CommandError(f"visitor {visitor_id}: path must be a non-empty list of [x, y] points")
        points = []
        for index, point in enumerate(path):
            try:
                x, y = (float(v) for v in point)
            except (TypeError, ValueError) as error:
                raise CommandError(
                    f"visitor {visitor_id}: path point {index} is not [x, y]: {point!r}"
                ) from error
            if not (math.isfinite(x) and math.isfinite(y)):
                raise CommandError(f"visitor {visitor_id}: path point {index} is not finite: {point!r}")
            if self._bounds is not None:
                x_min, x_max, y_min, y_max = self._bounds
                if not (x_min <= x <= x_max and y_min <= y <= y_max):
                    raise CommandError(
                        f"visitor {visitor_id}: path point {index} ({x:g}, {y:g}) is outside the lobby "
                        f"(x {x_min:g}..{x_max:g}, y {y_min:g}..{y_max:g})"
                    )
            points.append((x, y))
        return tuple(points)
