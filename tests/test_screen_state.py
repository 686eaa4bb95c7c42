"""ScreenState: what the visitor screen and the staff console show, from plain calls."""

from __future__ import annotations

import json
import threading
from datetime import date

import pytest

from service_desk_robot.robot.screen.state import (
    DialogueInfo,
    DispenserInfo,
    HealthInfo,
    PrinterInfo,
    QueueInfo,
    ScreenState,
    StockInfo,
)
from service_desk_robot.robot.ward_office.models import ServiceQueueInfo


class Clock:
    def __init__(self) -> None:
        self.day = date(2026, 11, 26)
        self.now = 100.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> ScreenState:
    return ScreenState(today=lambda: clock.day, monotonic=lambda: clock.now, stale_after_s=5.0)


def dialogue(visitor: str = "f1", ticket: str = "", not_printed: bool = False, **kw) -> DialogueInfo:
    fields = dict(
        state="CHOOSING_SERVICE",
        visitor_id=visitor,
        language="vi",
        last_robot_sentence="Xin chào",
        ticket_number=ticket,
        ticket_not_printed=not_printed,
        greeting_paused=False,
        options=("queue_number", "yes"),
    )
    fields.update(kw)
    return DialogueInfo(**fields)


def printer(paper: int = 1, pending: tuple[str, ...] = (), online: bool = True) -> PrinterInfo:
    return PrinterInfo(online, paper, 3, pending, "", "tcp:127.0.0.1:9100")


def test_empty_state_has_json_ready_views(state):
    visitor, staff = state.visitor_view(), state.staff_view()
    json.dumps(visitor), json.dumps(staff)
    assert visitor["ticket"] is None
    assert visitor["subtitles"] == []
    assert visitor["queue"] == {"known": False, "server_reachable": False, "services": []}
    assert staff["printer"] == {"known": False}
    assert staff["counts"]["visitors"] == 0


def test_subtitles_keep_the_last_three_said(state):
    for n in range(5):
        state.on_say(f"sentence {n}", "vi")
    state.on_say("", "vi")  # nothing said: ignored
    texts = [line["text"] for line in state.visitor_view()["subtitles"]]
    assert texts == ["sentence 2", "sentence 3", "sentence 4"]


def test_last_robot_sentence_is_the_subtitle_before_any_act(state):
    state.on_dialogue_state(dialogue())
    assert state.visitor_view()["subtitles"][0]["text"] == "Xin chào"


def test_ticket_act_shows_number_with_details(state):
    state.on_dialogue_state(dialogue())
    state.on_ticket("A042", "civil_status", 3, printed=True)
    state.on_dialogue_state(dialogue(ticket="A042"))
    ticket = state.visitor_view()["ticket"]
    assert ticket == {
        "number": "A042",
        "service_code": "civil_status",
        "people_ahead": 3,
        "not_printed": False,
    }
    assert state.staff_view()["counts"]["tickets"] == 1


def test_ticket_from_dialogue_state_alone(state):
    state.on_dialogue_state(dialogue(ticket="B007", not_printed=True))
    assert state.visitor_view()["ticket"]["number"] == "B007"
    assert state.visitor_view()["ticket"]["not_printed"] is True


def test_ticket_kept_for_reprint_is_shown_as_not_printed(state):
    state.on_ticket("A001", "civil_status", 0, printed=True)
    state.on_printer(printer(paper=3, pending=("A001",)))
    assert state.visitor_view()["ticket"]["not_printed"] is True


def test_ticket_cleared_when_dialogue_drops_it(state):
    state.on_dialogue_state(dialogue(ticket="A042"))
    state.on_dialogue_state(dialogue(ticket=""))
    assert state.visitor_view()["ticket"] is None


def test_next_visitor_sees_nothing_of_the_previous_one(state):
    state.on_dialogue_state(dialogue(visitor="f1"))
    state.on_say("Your receipt R-123 is ready", "en")
    state.on_ticket("A042", "civil_status", 3, printed=True)
    state.on_dialogue_state(dialogue(visitor="f2", last_robot_sentence=""))
    view = state.visitor_view()
    assert view["ticket"] is None
    assert view["subtitles"] == []
    assert state.staff_view()["counts"]["visitors"] == 2


def test_queue_view(state):
    service = ServiceQueueInfo("civil_status", "A", "Hộ tịch", "Civil status", "A040", 4, 30, ("1", "2"))
    state.on_queue(QueueInfo(True, 1.5, (service,)))
    queue = state.visitor_view()["queue"]
    assert queue["known"]
    assert queue["server_reachable"]
    assert queue["services"][0]["now_serving"] == "A040"
    assert state.staff_view()["server"] == {"known": True, "reachable": True, "data_age_s": 1.5}


def test_printer_and_dispenser_in_staff_view(state):
    state.on_printer(printer(paper=3, pending=("A001", "B002")))
    state.on_dispenser(
        DispenserInfo(
            True, (StockInfo("water", 0, True), StockInfo("candy", 12, False)), "", False, False, "x"
        )
    )
    staff = state.staff_view()
    assert staff["printer"]["paper"] == "out"
    assert staff["printer"]["pending_numbers"] == ["A001", "B002"]
    assert staff["dispenser"]["stock"][0] == {"item": "water", "count": 0, "empty": True}


def test_counts_drinks_and_candy_handed_out(state):
    state.on_dispense("water", 2, ok=True)
    state.on_dispense("candy", 1, ok=True)
    state.on_dispense("water", 1, ok=False)  # jammed: nothing handed out
    counts = state.staff_view()["counts"]
    assert (counts["drinks"], counts["candy"], counts["faults"]) == (2, 1, 0)


def test_faults_count_error_onsets_on_diagnostics(state):
    paper_out = HealthInfo("ticket_printer: printer", 2, "paper out")
    for _ in range(3):
        state.on_diagnostics([paper_out])  # published every second while it lasts: one fault
    state.on_printer(printer(paper=3))  # the printer's own status is not counted a second time
    state.on_diagnostics([HealthInfo("ticket_printer: printer", 0, "ok")])
    state.on_diagnostics([paper_out])  # out again: a second fault
    state.on_diagnostics([HealthInfo("dispenser: board", 1, "low stock")])  # a warning is no fault
    state.on_diagnostics([HealthInfo("dispenser: board", 2, "jam")])
    assert state.staff_view()["counts"]["faults"] == 3


def test_counts_reset_at_midnight(state, clock):
    state.on_ticket("A001", "civil_status", 0, printed=True)
    clock.day = date(2026, 11, 27)
    counts = state.staff_view()["counts"]
    assert counts["date"] == "2026-11-27"
    assert counts["tickets"] == 0


def test_node_health_and_staleness(state, clock):
    state.on_diagnostics([HealthInfo("printer: paper", 1, "low", "tcp:x"), HealthInfo("asr: model", 0, "ok")])
    nodes = {n["name"]: n for n in state.staff_view()["nodes"]}
    assert nodes["printer: paper"]["level"] == "warn"
    assert nodes["asr: model"]["level"] == "ok"
    clock.now += 6.0
    assert {n["level"] for n in state.staff_view()["nodes"]} == {"stale"}


def test_staff_view_carries_no_personal_data(state):
    state.on_dialogue_state(dialogue(visitor="f77"))
    state.on_say("Receipt 0123456789 is ready", "vi")
    text = json.dumps(state.staff_view())
    assert "f77" not in text
    assert "0123456789" not in text


def test_listeners_hear_every_change_and_can_be_removed(state):
    calls = []
    listener = lambda: calls.append(1)  # noqa: E731
    state.add_listener(listener)
    state.on_say("hello", "en")
    state.on_printer(printer())
    state.remove_listener(listener)
    state.on_say("again", "en")
    assert len(calls) == 2


def test_waiting_for_a_dialogue_state(state):
    assert state.wait_for_dialogue_state("ASKING_COMMENT", 0.01) is False
    timer = threading.Timer(0.05, lambda: state.on_dialogue_state(dialogue(state="ASKING_COMMENT")))
    timer.start()
    assert state.wait_for_dialogue_state("ASKING_COMMENT", 5.0) is True
    timer.join()
