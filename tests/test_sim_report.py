"""The simulation report: figures and pass/fail from the director's visitor records."""

import json

from service_desk_robot.sim.report import write_report
from service_desk_robot.sim.scenario import Act, VisitorRecord, judge, parse_scenario

SCENARIO = parse_scenario(
    {
        "name": "t",
        "visitors": [
            {
                "id": "v1",
                "arrive_at_s": 0,
                "face": "astronaut",
                "path": [[5, 0], [1, 0]],
                "says": ["số khai sinh"],
                "on_arrival": ["printer_paper_out"],
                "expect": [{"ticket": "civil_status"}, {"ticket_printed": False}],
            },
            {
                "id": "p1",
                "arrive_at_s": 1,
                "face": "hopper",
                "path": [[7, -4], [7, 4]],
                "expect": [{"greeted": False}],
            },
        ],
    }
)


def _records(printed: bool) -> list[VisitorRecord]:
    talker, passer = SCENARIO.visitors
    acts = [
        Act("say", "f1", text="Xin chào", language="vi"),
        Act("ticket", "f1", ticket_number="A001", service_code="civil_status", printed=printed),
        Act("error", "f1", code="PAPER_OUT"),
    ]
    first = VisitorRecord(
        talker, greeted=True, acts=acts, greet_latency_s=0.4, response_latencies_s=[0.1, 0.3]
    )
    first.verdicts = judge(talker, acts, greeted=True)
    second = VisitorRecord(passer)
    second.verdicts = judge(passer, [], greeted=False)
    return [first, second]


def test_a_run_that_meets_every_expectation_passes_and_writes_its_files(tmp_path):
    (tmp_path / "tickets").mkdir()
    (tmp_path / "tickets/job-0001.png").write_bytes(b"png")
    summary = write_report(
        tmp_path,
        SCENARIO,
        _records(printed=False),
        time_scale=4,
        ready_s=3,
        wall_s=60,
        tickets_dir=tmp_path / "tickets",
    )
    assert summary.passed
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["tickets"] == {
        "issued": 1,
        "printed": 0,
        "kept_for_reprint": 1,
        "numbers": ["A001"],
        "images": 1,
    }
    assert data["faults"] == [{"fault": "printer_paper_out", "visitor": "v1", "handled": True}]
    assert data["latency"]["response"] == {"count": 2, "p50_s": 0.1, "p95_s": 0.3}
    assert data["visitors"]["served"] == 1
    assert "| v1 | ticket_printed: False | pass |" in (tmp_path / "summary.md").read_text()


def test_a_failed_expectation_fails_the_run_and_is_listed(tmp_path):
    summary = write_report(
        tmp_path,
        SCENARIO,
        _records(printed=True),
        time_scale=1,
        ready_s=3,
        wall_s=60,
        tickets_dir=tmp_path / "none",
    )
    assert not summary.passed
    assert summary.headline.startswith("FAIL: 2/3")
    failed = json.loads((tmp_path / "summary.json").read_text())["expectations"]["failed"]
    assert failed == [{"visitor": "v1", "expectation": "ticket_printed: False", "detail": "printed: [True]"}]
