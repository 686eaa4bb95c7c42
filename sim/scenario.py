"""Lobby scenarios: who arrives when, what they say, what faults hit, what they must get.

A scenario is YAML under sim/scenarios/ (see morning.yaml for the annotated format). This
module loads and validates it, and judges a visitor's expectations against the acts the
robot published for that visitor (service_desk_interfaces/DialogueAct, read back into the
dialogue core's own `Act`).
No ROS: the director node (nodes/scenario_director.py) turns topics into `Act`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service_desk_robot.robot.dialogue.messages import Act  # what the robot did, as the dialogue says it
from service_desk_robot.robot.dialogue.text import fold  # the dialogue's own matching form
from service_desk_robot.sim.lobby.faces import FACES

FAULTS = (
    "printer_paper_out",
    "printer_paper_ok",
    "dispenser_jam",
    "dispenser_clear",
    "ward_office_down",
    "ward_office_back",  # not a fault: wait until the robot itself sees the server again
)
EXPECTATION_KINDS = ("ticket", "ticket_printed", "dispensed", "error", "says", "greeted", "language")


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the place."""


@dataclass(frozen=True)
class Fault:
    name: str  # one of FAULTS
    duration_s: float = 0.0  # ward_office_down only


@dataclass(frozen=True)
class Expectation:
    kind: str  # one of EXPECTATION_KINDS
    value: Any

    def describe(self) -> str:
        return f"{self.kind}: {self.value}"


@dataclass(frozen=True)
class Visitor:
    id: str
    arrive_at_s: float
    face: str
    path: tuple[tuple[float, float], ...]  # metres in the lobby frame; the last point is the stop
    says: tuple[str, ...] = ()
    language: str = "vi"
    booking_service: str = ""  # seed an online booking for today before arriving
    on_arrival: tuple[Fault, ...] = ()
    on_leave: tuple[Fault, ...] = ()
    expect: tuple[Expectation, ...] = ()

    @property
    def talks(self) -> bool:
        return bool(self.says)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    visitors: tuple[Visitor, ...]
    walking_speed_mps: float = 1.0
    source: Path | None = None


@dataclass(frozen=True)
class Verdict:
    visitor: str
    expectation: str
    passed: bool
    detail: str


@dataclass
class VisitorRecord:
    """What happened to one visitor during a run, and how their expectations fared."""

    visitor: Visitor
    greeted: bool = False
    face_id: str = ""
    acts: list[Act] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    greet_latency_s: float | None = None  # stop point reached -> first robot sentence
    response_latencies_s: list[float] = field(default_factory=list)  # line spoken -> first act
    note: str = ""


def _require(mapping: dict, key: str, where: str) -> Any:
    if key not in mapping:
        raise ScenarioError(f"{where}: missing '{key}'")
    return mapping[key]


def _faults(raw: Any, where: str) -> tuple[Fault, ...]:
    faults = []
    for index, item in enumerate(raw or []):
        spot = f"{where}[{index}]"
        if isinstance(item, str):
            name, duration = item, 0.0
        elif isinstance(item, dict) and len(item) == 1:
            ((name, duration),) = item.items()
        else:
            raise ScenarioError(f"{spot}: a fault is a name or {{name: duration_s}}")
        if name not in FAULTS:
            raise ScenarioError(f"{spot}: unknown fault '{name}' (known: {', '.join(FAULTS)})")
        faults.append(Fault(name, float(duration or 0)))
    return tuple(faults)


def _expectations(raw: Any, where: str) -> tuple[Expectation, ...]:
    expectations = []
    for index, item in enumerate(raw or []):
        spot = f"{where}[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise ScenarioError(f"{spot}: an expectation is one {{kind: value}} pair")
        ((kind, value),) = item.items()
        if kind not in EXPECTATION_KINDS:
            raise ScenarioError(
                f"{spot}: unknown expectation '{kind}' (known: {', '.join(EXPECTATION_KINDS)})"
            )
        expectations.append(Expectation(kind, value))
    return tuple(expectations)


def parse_scenario(data: Any, source: Path | None = None) -> Scenario:
    where = str(source or "scenario")
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: the top level must be a mapping")
    visitors = []
    seen: set[str] = set()
    for index, raw in enumerate(_require(data, "visitors", where)):
        spot = f"{where}: visitors[{index}]"
        visitor_id = str(_require(raw, "id", spot))
        if visitor_id in seen:
            raise ScenarioError(f"{spot}: duplicate visitor id '{visitor_id}'")
        seen.add(visitor_id)
        face = str(_require(raw, "face", spot))
        if face not in FACES:
            raise ScenarioError(f"{spot}: unknown face '{face}' (the lobby has: {', '.join(sorted(FACES))})")
        path = tuple((float(x), float(y)) for x, y in _require(raw, "path", spot))
        if len(path) < 2:
            raise ScenarioError(f"{spot}: a path needs at least two points")
        visitors.append(
            Visitor(
                id=visitor_id,
                arrive_at_s=float(_require(raw, "arrive_at_s", spot)),
                face=face,
                path=path,
                says=tuple(str(line) for line in raw.get("says") or ()),
                language=str(raw.get("language", "vi")),
                booking_service=str(raw.get("booking_service", "")),
                on_arrival=_faults(raw.get("on_arrival"), f"{spot}.on_arrival"),
                on_leave=_faults(raw.get("on_leave"), f"{spot}.on_leave"),
                expect=_expectations(raw.get("expect"), f"{spot}.expect"),
            )
        )
    if not visitors:
        raise ScenarioError(f"{where}: no visitors")
    arrivals = [v.arrive_at_s for v in visitors]
    if arrivals != sorted(arrivals):
        raise ScenarioError(f"{where}: visitors must be listed in order of arrive_at_s")
    return Scenario(
        name=str(data.get("name", source.stem if source else "scenario")),
        description=str(data.get("description", "")),
        visitors=tuple(visitors),
        walking_speed_mps=float(data.get("walking_speed_mps", 1.0)),
        source=source,
    )


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(f"{path}: cannot read: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from error
    return parse_scenario(data, path)


def judge(visitor: Visitor, acts: list[Act], greeted: bool) -> list[Verdict]:
    """Verdicts of a visitor's expectations, given the acts the robot made for them."""
    verdicts = []
    for expectation in visitor.expect:
        passed, detail = _judge_one(expectation, acts, greeted)
        verdicts.append(Verdict(visitor.id, expectation.describe(), passed, detail))
    return verdicts


def _judge_one(expectation: Expectation, acts: list[Act], greeted: bool) -> tuple[bool, str]:
    kind, value = expectation.kind, expectation.value
    tickets = [a for a in acts if a.kind == "ticket"]
    if kind == "greeted":
        return greeted == bool(value), "greeted" if greeted else "not greeted"
    if kind == "ticket":
        numbers = [f"{a.ticket_number} ({a.service_code})" for a in tickets]
        return any(a.service_code == value for a in tickets), f"tickets: {numbers or 'none'}"
    if kind == "ticket_printed":
        printed = [a.printed for a in tickets]
        return bool(tickets) and all(p == bool(value) for p in printed), f"printed: {printed or 'no ticket'}"
    if kind == "dispensed":
        item, ok = value["item"], bool(value.get("ok", True))
        outcomes = [(a.item, a.ok, a.code) for a in acts if a.kind == "dispense"]
        return any(
            a.kind == "dispense" and a.item == item and a.ok == ok for a in acts
        ), f"dispenses: {outcomes}"
    if kind == "error":
        codes = [a.code for a in acts if a.code]
        return value in codes, f"error codes: {codes or 'none'}"
    if kind == "says":
        alternatives = value if isinstance(value, list) else [value]
        said = [a.text for a in acts if a.kind == "say"]
        hit = any(fold(option) in fold(text) for option in alternatives for text in said)
        return hit, f"{len(said)} sentences" if hit else f"not said; last: {said[-1:] or 'nothing'}"
    if kind == "language":
        languages = [a.language for a in acts if a.kind == "say"]
        tail = languages[1:] or languages  # the greeting comes before the visitor spoke
        return bool(tail) and tail[-1] == value, f"languages: {sorted(set(languages))}"
    raise ScenarioError(f"unknown expectation kind '{kind}'")
