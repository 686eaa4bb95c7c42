"""The report of a lobby simulation run: summary figures, pass/fail, files.

Pure: takes the director's visitor records and writes summary.json and summary.md (the
transcript and the tickets are written while the run goes on).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.benchmarking import percentile
from service_desk_robot.sim.scenario import Scenario, VisitorRecord


@dataclass(frozen=True)
class Summary:
    data: dict
    passed: bool
    headline: str


def _latencies(samples: list[float]) -> dict[str, float | int | None]:
    if not samples:
        return {"count": 0, "p50_s": None, "p95_s": None}
    return {
        "count": len(samples),
        "p50_s": round(percentile(samples, 0.5), 3),
        "p95_s": round(percentile(samples, 0.95), 3),
    }


def summarise(
    scenario: Scenario,
    records: list[VisitorRecord],
    *,
    time_scale: float,
    ready_s: float,
    wall_s: float,
    ticket_images: int,
) -> Summary:
    acts = [act for record in records for act in record.acts]
    tickets = [a for a in acts if a.kind == "ticket"]
    dispenses = [a for a in acts if a.kind == "dispense"]
    verdicts = [v for record in records for v in record.verdicts]
    failed = [v for v in verdicts if not v.passed]
    talkers = [r for r in records if r.visitor.talks]
    faults = []
    for record in records:
        for fault in record.visitor.on_arrival:
            handled = all(v.passed for v in record.verdicts)
            faults.append({"fault": fault.name, "visitor": record.visitor.id, "handled": handled})
    data = {
        "scenario": scenario.name,
        "time_scale": time_scale,
        "robot_ready_s": round(ready_s, 2),
        "wall_time_s": round(wall_s, 1),
        "visitors": {
            "total": len(records),
            "talked": len(talkers),
            "greeted": sum(r.greeted for r in talkers),
            "passers_by_greeted": sum(r.greeted for r in records if not r.visitor.talks),
            "served": sum(bool(r.verdicts) and all(v.passed for v in r.verdicts) for r in talkers),
        },
        "tickets": {
            "issued": len(tickets),
            "printed": sum(a.printed for a in tickets),
            "kept_for_reprint": sum(not a.printed for a in tickets),
            "numbers": [a.ticket_number for a in tickets],
            "images": ticket_images,
        },
        "dispensed": dict(Counter(f"{a.item} {'ok' if a.ok else 'failed'}" for a in dispenses)),
        "errors": dict(Counter(a.code for a in acts if a.code)),
        "faults": faults,
        "latency": {
            "greeting": _latencies([r.greet_latency_s for r in records if r.greet_latency_s is not None]),
            "response": _latencies([s for r in records for s in r.response_latencies_s]),
        },
        "expectations": {
            "total": len(verdicts),
            "passed": len(verdicts) - len(failed),
            "failed": [
                {"visitor": v.visitor, "expectation": v.expectation, "detail": v.detail} for v in failed
            ],
        },
        "notes": {r.visitor.id: r.note for r in records if r.note},
    }
    passed = not failed and all(not r.note for r in talkers)
    headline = (
        f"{'PASS' if passed else 'FAIL'}: {len(verdicts) - len(failed)}/{len(verdicts)} expectations met; "
        f"{data['visitors']['served']}/{len(talkers)} visitors served; {len(tickets)} tickets "
        f"({data['tickets']['printed']} printed); faults: {len(faults)}"
    )
    return Summary(data, passed, headline)


def write_report(
    folder: Path,
    scenario: Scenario,
    records: list[VisitorRecord],
    *,
    time_scale: float,
    ready_s: float,
    wall_s: float,
    tickets_dir: Path,
) -> Summary:
    images = sorted(tickets_dir.glob("*.png")) if tickets_dir.is_dir() else []
    summary = summarise(
        scenario, records, time_scale=time_scale, ready_s=ready_s, wall_s=wall_s, ticket_images=len(images)
    )
    (folder / "summary.json").write_text(
        json.dumps(summary.data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    lines = [
        f"# Lobby simulation: {scenario.name}",
        "",
        summary.headline,
        "",
        "| visitor | expectation | result | detail |",
        "| --- | --- | --- | --- |",
    ]
    for record in records:
        for verdict in record.verdicts:
            lines.append(
                f"| {verdict.visitor} | {verdict.expectation} | {'pass' if verdict.passed else 'FAIL'} "
                f"| {verdict.detail} |"
            )
    latency = summary.data["latency"]
    lines += [
        "",
        f"Greeting latency p50/p95: {latency['greeting']['p50_s']} / {latency['greeting']['p95_s']} s; "
        f"response latency p50/p95: {latency['response']['p50_s']} / {latency['response']['p95_s']} s "
        f"(wall clock, time x{time_scale:g}).",
        "",
        f"Tickets as printed (decoded by the fake printer): {len(images)} PNG files in "
        f"`{tickets_dir.relative_to(folder) if tickets_dir.is_relative_to(folder) else tickets_dir}`.",
    ]
    (folder / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary
