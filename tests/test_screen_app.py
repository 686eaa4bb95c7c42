"""The screen's web application: pages, staff token, visitor intents, live event stream.

Every test talks real HTTP to the application served by ScreenServer on a free port.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from service_desk_robot.robot.screen import ScreenConfigError, ScreenServerError
from service_desk_robot.robot.screen.app import ActionResult, create_app
from service_desk_robot.robot.screen.config import Choice, ScreenCatalog
from service_desk_robot.robot.screen.intents import ScreenUtterance
from service_desk_robot.robot.screen.server import ScreenServer
from service_desk_robot.robot.screen.state import PrinterInfo, ScreenState

TOKEN = "s3cret-staff-token"
LABELS = {
    "vi": {"title": "Một cửa", "intents": {"queue_number": "Tôi muốn lấy số", "water": "Cho xin nước"}},
    "en": {"title": "One-stop", "intents": {"queue_number": "A number please", "water": "Water please"}},
}
CATALOG = ScreenCatalog(
    services=(Choice("civil_status", "Hộ tịch", "Civil status", "A"),),
    procedures=(Choice("birth_registration", "Khai sinh", "Birth registration"),),
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class FakePorts:
    def __init__(self) -> None:
        self.utterances: list[ScreenUtterance] = []
        self.actions: list[str] = []
        self.refill_result = ActionResult(True, "refilled")

    def publish_utterances(self, utterances: list[ScreenUtterance]) -> None:
        self.utterances.extend(utterances)

    def reprint_pending(self) -> ActionResult:
        self.actions.append("reprint")
        return ActionResult(True, "2 tickets reprinted")

    def refill_dispenser(self) -> ActionResult:
        self.actions.append("refill")
        return self.refill_result

    def set_greeting_paused(self, paused: bool) -> ActionResult:
        self.actions.append(f"paused={paused}")
        return ActionResult(True, "ok")


@pytest.fixture
def state() -> ScreenState:
    return ScreenState(today=lambda: date(2026, 11, 26))


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts()


def make_app(state: ScreenState, ports: FakePorts, token: str = TOKEN):
    return create_app(state=state, ports=ports, labels=LABELS, catalog=CATALOG, staff_token=token)


@pytest.fixture
def server(state, ports) -> Iterator[ScreenServer]:
    running = ScreenServer(make_app(state, ports), host="127.0.0.1", port=0)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        yield http


def test_pages_are_served_with_a_strict_policy(client):
    for path in ("/", "/staff"):
        response = client.get(path)
        assert response.status_code == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "visitor.js" in client.get("/").text
    assert "staff.js" in client.get("/staff").text
    assert client.get("/static/common.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_config_carries_labels_and_catalogue(client):
    body = client.get("/api/config").json()
    assert body["labels"]["vi"]["title"] == "Một cửa"
    assert body["catalog"]["services"][0]["id"] == "civil_status"
    assert body["default_language"] == "vi"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic " + TOKEN}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_staff_routes_refuse_a_missing_or_wrong_token(client, ports, headers):
    for method, path in (
        ("GET", "/api/staff/state"),
        ("GET", "/api/staff/events"),
        ("POST", "/api/staff/actions/reprint"),
        ("POST", "/api/staff/actions/pause_greeting"),
    ):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json()["error_code"] in {"TOKEN_MISSING", "TOKEN_REFUSED"}
    assert ports.actions == []


def test_staff_console_closed_without_a_configured_token(state, ports):
    closed = ScreenServer(make_app(state, ports, token=""), port=0)
    closed.start()
    try:
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer anything"}):
            response = httpx.get(f"{closed.url}/api/staff/state", headers=headers, timeout=5.0)
            assert response.status_code == 503
            assert response.json()["error_code"] == "STAFF_DISABLED"
        response = httpx.post(f"{closed.url}/api/staff/actions/reprint", headers=AUTH, timeout=5.0)
        assert response.status_code == 503
    finally:
        closed.stop()
    assert ports.actions == []


def test_staff_state_and_actions_with_the_right_token(client, state, ports):
    state.on_printer(PrinterInfo(True, 3, 5, ("A001",), "paper out", "tcp:127.0.0.1:9100"))
    body = client.get("/api/staff/state", headers=AUTH).json()
    assert body["printer"]["paper"] == "out"
    assert body["printer"]["pending_numbers"] == ["A001"]
    for action in ("reprint", "refill_dispenser", "pause_greeting", "resume_greeting"):
        response = client.post(f"/api/staff/actions/{action}", headers=AUTH)
        assert response.status_code == 200
        assert response.json()["success"] is True
    assert ports.actions == ["reprint", "refill", "paused=True", "paused=False"]
    assert client.post("/api/staff/actions/self_destruct", headers=AUTH).status_code == 404


def test_a_failed_staff_action_is_reported(client, ports):
    ports.refill_result = ActionResult(False, "/dispenser/refill is not available", "SERVICE_UNAVAILABLE")
    response = client.post("/api/staff/actions/refill_dispenser", headers=AUTH)
    assert response.status_code == 502
    assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"


def test_visitor_tap_becomes_one_intent(client, ports):
    response = client.post("/api/visitor/intent", json={"intent": "queue_number", "argument": "civil_status"})
    assert response.status_code == 202
    assert ports.utterances == [ScreenUtterance("queue_number", "civil_status", "Tôi muốn lấy số", "vi")]
    client.post("/api/visitor/intent", json={"intent": "water", "language": "en"})
    assert ports.utterances[1] == ScreenUtterance("water", "", "Water please", "en")


def test_feedback_tap_answers_rating_and_comment(client, ports):
    response = client.post("/api/visitor/intent", json={"intent": "feedback", "argument": "5|Tốt"})
    assert response.status_code == 202
    assert [(u.intent, u.argument, u.text) for u in ports.utterances] == [
        ("feedback", "5", "feedback"),
        ("", "", "Tốt"),
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "BAD_REQUEST"),
        (json.dumps({"intent": "reprint"}).encode(), 422, "UNKNOWN_INTENT"),
        (json.dumps({"intent": "pause_greeting", "argument": "true"}).encode(), 422, "UNKNOWN_INTENT"),
        (json.dumps({"intent": "queue_number", "argument": "nope"}).encode(), 422, "UNKNOWN_SERVICE"),
        (json.dumps({"intent": "water", "argument": "x" * 5000}).encode(), 413, "TOO_LARGE"),
    ],
)
def test_bad_taps_are_refused_and_nothing_is_published(client, ports, body, status, code):
    response = client.post("/api/visitor/intent", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.json()["error_code"] == code
    assert ports.utterances == []


def test_taps_from_another_site_are_refused(client, server, ports):
    evil = client.post(
        "/api/visitor/intent", json={"intent": "staff"}, headers={"Origin": "http://evil.example"}
    )
    assert evil.status_code == 403
    assert evil.json()["error_code"] == "CROSS_ORIGIN"
    assert ports.utterances == []
    own = client.post("/api/visitor/intent", json={"intent": "staff"}, headers={"Origin": server.url})
    assert own.status_code == 202


def test_visitor_routes_cannot_reach_staff_actions(client, ports):
    """No visitor route, method or intent triggers a staff action or shows staff data."""
    assert client.get("/api/visitor/intent").status_code == 405
    assert client.post("/api/visitor/reprint").status_code == 404
    assert client.post("/api/visitor/actions/reprint").status_code == 404
    assert client.get("/api/staff/actions/reprint", headers=AUTH).status_code == 405
    visitor = client.get("/api/visitor/state").json()
    assert not {"printer", "dispenser", "counts", "nodes"} & set(visitor)
    assert ports.actions == []


def test_visitor_state_snapshot(client, state):
    state.on_say("Xin chào, tôi giúp gì được ạ?", "vi")
    state.on_ticket("A042", "civil_status", 2, printed=False)
    body = client.get("/api/visitor/state").json()
    assert body["subtitles"][-1]["text"] == "Xin chào, tôi giúp gì được ạ?"
    assert body["ticket"]["number"] == "A042"
    assert body["ticket"]["not_printed"] is True


def read_events(response: httpx.Response, count: int) -> list[dict]:
    events, data = [], []
    for line in response.iter_lines():
        if line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            events.append(json.loads("\n".join(data)))
            data = []
            if len(events) == count:
                break
    return events


def test_event_stream_pushes_each_change(server, state):
    def later() -> None:
        state.on_say("first", "vi")

    with (
        httpx.Client(base_url=server.url, timeout=5.0) as http,
        http.stream("GET", "/api/visitor/events") as resp,
    ):
        assert resp.headers["content-type"].startswith("text/event-stream")
        timer = threading.Timer(0.2, later)
        timer.start()
        first, second = read_events(resp, 2)
        timer.join()
    assert first["subtitles"] == []
    assert second["subtitles"][0]["text"] == "first"


def test_staff_event_stream_needs_the_token(server, state):
    with httpx.Client(base_url=server.url, timeout=5.0) as http:
        assert http.get("/api/staff/events", headers={"Authorization": "Bearer nope"}).status_code == 401
        state.on_printer(PrinterInfo(True, 3, 0, (), "", ""))
        with http.stream("GET", "/api/staff/events", headers=AUTH) as resp:
            (snapshot,) = read_events(resp, 1)
    assert snapshot["printer"]["paper"] == "out"


def test_server_stops_promptly_with_open_streams(state, ports):
    running = ScreenServer(make_app(state, ports), port=0)
    running.start()
    with (
        httpx.Client(base_url=running.url, timeout=5.0) as http,
        http.stream("GET", "/api/visitor/events") as resp,
    ):
        read_events(resp, 1)
        running.stop(timeout_s=3.0)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{running.url}/api/config", timeout=1.0)


def test_server_reports_a_taken_port(state, ports):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ScreenServerError, match="failed to start"):
            ScreenServer(make_app(state, ports), port=port).start(timeout_s=5.0)


def test_a_default_language_without_labels_is_refused(state, ports):
    with pytest.raises(ScreenConfigError, match="fr"):
        create_app(
            state=state, ports=ports, labels=LABELS, catalog=CATALOG, staff_token=TOKEN, default_language="fr"
        )
