"""Figures that benchmarks print, and the table `service-desk-robot bench` assembles.

Every script in bench/ defines `run(quick: bool = False) -> list[Figure]` and, for running
it alone, `if __name__ == "__main__": print_table(run())`. Benchmarks print figures; they
never fail a test run (targets are checked by reading the table, not by assertions).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str  # what is measured, e.g. "ticket render + send p95"
    measured: float
    unit: str  # "ms", "tickets/s", "KB", "x real time", ...
    target: str = ""  # human-readable target, e.g. "<= 150 ms"; "" when informative only
    met: bool | None = None  # None when there is no target
    detail: str = ""  # conditions: sample size, machine load, backend


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1) of a non-empty sample."""
    if not samples:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def at_most(name: str, measured: float, unit: str, limit: float, detail: str = "") -> Figure:
    return Figure(name, measured, unit, f"<= {limit:g} {unit}", measured <= limit, detail)


def at_least(name: str, measured: float, unit: str, floor: float, detail: str = "") -> Figure:
    return Figure(name, measured, unit, f">= {floor:g} {unit}", measured >= floor, detail)


def print_table(figures: Sequence[Figure]) -> None:
    width = max((len(f.name) for f in figures), default=10)
    print(f"{'figure':<{width}}  {'measured':>14}  {'target':<18} ok")
    for f in figures:
        verdict = "-" if f.met is None else ("yes" if f.met else "NO")
        measured = f"{f.measured:.3g} {f.unit}"
        print(f"{f.name:<{width}}  {measured:>14}  {f.target:<18} {verdict}  {f.detail}")


def save_json(figures: Sequence[Figure], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(f) for f in figures], indent=2, ensure_ascii=False) + "\n")
