"""Per-visitor limits (e.g. 1 water and 2 candies per visitor per day), counted in the journal.

Counting in the durable journal rather than in memory means a restarted node still
remembers who already had their water. Pure logic; thread-safety is the journal's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service_desk_robot.robot.dispenser import errors
from service_desk_robot.robot.dispenser.journal import Journal


@dataclass(frozen=True)
class VisitorLimits:
    per_item: Mapping[str, int] = field(default_factory=dict)  # item -> max count; absent = no limit
    window_s: float = 86_400.0  # how far back a visitor's earlier requests count

    def check(self, journal: Journal, visitor_id: str, item: str, count: int, now_s: float) -> None:
        limit = self.per_item.get(item)
        if limit is None:
            return
        had = journal.consumed(visitor_id, item, now_s - self.window_s)
        if had + count > limit:
            left = max(0, limit - had)
            raise errors.LimitReachedError(
                f"visitor {visitor_id} may have {limit} {item} per {self.window_s / 3600:g} h: "
                f"already had {had}, asked for {count}, {left} left"
            )
