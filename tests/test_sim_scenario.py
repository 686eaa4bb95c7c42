"""Scenario files: loading, validation errors that name the place, and judging acts."""

import re
from pathlib import Path

import pytest

from service_desk_robot.sim.scenario import (
    Act,
    ScenarioError,
    judge,
    load_scenario,
    parse_scenario,
)

MINIMAL = {"visitors": [{"id": "v1", "arrive_at_s": 0, "face": "astronaut", "path": [[5, 0], [1, 0]]}]}


def test_the_shipped_morning_scenario_covers_every_capability_and_three_faults(repo):
    scenario = load_scenario(repo / "sim/scenarios/morning.yaml")
    assert len([v for v in scenario.visitors if v.talks]) >= 10
    faults = {f.name for v in scenario.visitors for f in v.on_arrival}
    assert {"printer_paper_out", "dispenser_jam", "ward_office_down"} <= faults
    kinds = {e.kind for v in scenario.visitors for e in v.expect}
    assert {"ticket", "dispensed", "error", "says", "greeted", "language"} <= kinds
    down = [f for v in scenario.visitors for f in v.on_arrival if f.name == "ward_office_down"]
    assert down[0].duration_s == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["visitors"][0].pop("face"), "visitors[0]: missing 'face'"),
        (lambda d: d["visitors"][0].update(path=[[1, 0]]), "at least two points"),
        (lambda d: d["visitors"][0].update(face="mona_lisa"), "unknown face 'mona_lisa'"),
        (
            lambda d: d["visitors"][0].update(on_arrival=["printer_on_fire"]),
            "unknown fault 'printer_on_fire'",
        ),
        (lambda d: d["visitors"][0].update(expect=[{"smiles": True}]), "unknown expectation 'smiles'"),
        (lambda d: d["visitors"].append(dict(d["visitors"][0])), "duplicate visitor id 'v1'"),
        (lambda d: d.update(visitors=[]), "no visitors"),
    ],
)
def test_bad_scenarios_are_refused_with_the_place_named(change, message):
    data = {"visitors": [dict(v) for v in MINIMAL["visitors"]]}
    change(data)
    with pytest.raises(ScenarioError, match=re.escape(message)):
        parse_scenario(data, Path("bad.yaml"))


def test_unreadable_and_invalid_yaml_files_are_scenario_errors(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("visitors: [\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)


def test_expectations_are_judged_against_the_visitors_acts():
    data = {
        "visitors": [
            dict(
                MINIMAL["visitors"][0],
                says=["hi"],
                expect=[
                    {"ticket": "civil_status"},
                    {"ticket_printed": False},
                    {"dispensed": {"item": "water", "ok": False}},
                    {"error": "JAM"},
                    {"says": ["cong an"]},
                    {"greeted": True},
                    {"language": "en"},
                ],
            )
        ]
    }
    visitor = parse_scenario(data).visitors[0]
    acts = [
        Act("say", "f1", text="Xin chào!", language="vi"),
        Act("ticket", "f1", ticket_number="A001", service_code="civil_status", printed=False),
        Act("dispense", "f1", item="water", ok=False, code="JAM"),
        Act("say", "f1", text="Please go to the ward police (Công an phường).", language="en"),
    ]
    verdicts = judge(visitor, acts, greeted=True)
    assert [v.passed for v in verdicts] == [True, True, True, True, True, True, True]
    failing = judge(visitor, [Act("say", "f1", text="Xin chào", language="vi")], greeted=False)
    assert not any(v.passed for v in failing)
