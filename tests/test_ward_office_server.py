"""The simulated ward office server's rules, over real HTTP on 127.0.0.1.

Each test gets its own server (uvicorn in a thread, fresh SQLite file) whose clock the
test sets, so "today", "tomorrow" and midnight are the test's to choose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import free_tcp_port, wait_until

from service_desk_robot.sim.ward_office.config import load_config
from service_desk_robot.sim.ward_office.runner import ServerThread

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ROBOT, COUNTER, COUNTER_3, ADMIN = (
    "robot-dev-token",
    "counter-dev-token",
    "counter-3-dev-token",
    "admin-dev-token",
)


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class KeptClient(httpx.Client):
    """Survives `with` blocks so a test reuses it (a new client costs ~50 ms); closed at teardown."""

    def __enter__(self) -> KeptClient:
        return self

    def __exit__(self, *_: object) -> None:
        pass


@dataclass
class Office:
    server: ServerThread
    clock: FakeClock
    clients: dict[str | None, KeptClient] = field(default_factory=dict)

    def client(self, token: str | None = ROBOT) -> httpx.Client:
        if token not in self.clients:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            self.clients[token] = KeptClient(
                base_url=f"{self.server.url}/api/v1", headers=headers, timeout=5.0
            )
        return self.clients[token]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    @property
    def today(self) -> dt.date:
        return self.clock.now.date()

    def restart(self) -> None:
        self.server.stop()
        self.server.start()


@pytest.fixture
def office(tmp_path) -> Iterator[Office]:
    clock = FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=HANOI))
    server = ServerThread(load_config(), tmp_path / "office.sqlite3", free_tcp_port(), clock=clock)
    server.start()
    office = Office(server, clock)
    yield office
    office.close()
    server.stop()


def ticket(client: httpx.Client, service: str = "civil_status", **fields) -> httpx.Response:
    return client.post("/tickets", json={"service_code": service, **fields})


def book(office: Office, citizen: str, service: str, day: dt.date) -> httpx.Response:
    with office.client(ADMIN) as admin:
        return admin.post(
            "/bookings", json={"service_code": service, "citizen_id": citizen, "date": day.isoformat()}
        )


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


# ---- numbering ------------------------------------------------------------------------


def test_numbers_count_per_letter_reset_at_midnight_and_survive_restart(office):
    with office.client() as robot:
        assert [ticket(robot).json()["number"] for _ in range(2)] == ["A001", "A002"]
        assert ticket(robot, "certification").json()["number"] == "B001"
        office.clock.now = office.clock.now.replace(hour=23, minute=59, second=59)
        assert ticket(robot).json()["number"] == "A003"
    office.restart()
    with office.client() as robot:
        assert ticket(robot).json()["number"] == "A004"
        office.clock.advance(seconds=2)  # 00:00:01 the next day
        first = ticket(robot).json()
    assert first["number"] == "A001"
    assert first["issued_at"].startswith((office.today).isoformat())


def test_reply_tells_people_ahead_and_estimated_wait(office):
    with office.client() as robot:
        replies = [ticket(robot).json() for _ in range(3)]
    # Civil status: 2 counters, 8 minutes each.
    assert [r["people_ahead"] for r in replies] == [0, 1, 2]
    assert [r["estimated_wait_min"] for r in replies] == [0, 4, 8]
    assert replies[0]["counters"] == ["1", "2"]


def test_retried_ticket_with_same_key_returns_the_same_ticket(office):
    with office.client() as robot:
        headers = {"Idempotency-Key": "visitor-7"}
        first = robot.post("/tickets", json={"service_code": "certification"}, headers=headers)
        again = robot.post("/tickets", json={"service_code": "certification"}, headers=headers)
        other = robot.post("/tickets", json={"service_code": "civil_status"}, headers=headers)
        assert ticket(robot, "certification").json()["number"] == "B002"
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"] == "B001"
    assert other.status_code == 422
    assert error_code(other) == "IDEMPOTENCY_KEY_REUSED"


# ---- bookings and limits ------------------------------------------------------------------


def test_booking_window_is_today_to_six_days_ahead(office):
    ok_today = book(office, "001", "civil_status", office.today)
    ok_last = book(office, "002", "civil_status", office.today + dt.timedelta(days=6))
    too_far = book(office, "003", "civil_status", office.today + dt.timedelta(days=7))
    yesterday = book(office, "004", "civil_status", office.today - dt.timedelta(days=1))
    assert ok_today.status_code == ok_last.status_code == 201
    assert ok_last.json()["day"] == (office.today + dt.timedelta(days=6)).isoformat()
    for refused in (too_far, yesterday):
        assert refused.status_code == 422
        assert error_code(refused) == "DATE_OUT_OF_WINDOW"


def test_two_numbers_per_person_per_day_and_one_per_service(office):
    assert book(office, "079123", "civil_status", office.today).status_code == 201
    with office.client() as robot:
        same_service = ticket(robot, "civil_status", citizen_id="079123")
        second = ticket(robot, "certification", citizen_id="079123")
        third = ticket(robot, "land_construction", citizen_id="079123")
        anonymous = ticket(robot, "civil_status")
        other_person = ticket(robot, "civil_status", citizen_id="079999")
    assert same_service.status_code == 409
    assert error_code(same_service) == "LIMIT_REACHED"
    assert second.status_code == 201
    assert third.status_code == 409
    assert error_code(third) == "LIMIT_REACHED"
    assert anonymous.status_code == other_person.status_code == 201
    # The limits are per day: tomorrow the same person may book again.
    assert book(office, "079123", "land_construction", office.today + dt.timedelta(days=1)).status_code == 201
    assert error_code(book(office, "079123", "social_affairs", office.today)) == "LIMIT_REACHED"


def test_check_in_only_on_its_day_and_only_once(office):
    tomorrow = office.today + dt.timedelta(days=1)
    code = book(office, "001", "certification", tomorrow).json()["booking_code"]
    with office.client() as robot:
        early = robot.post(f"/bookings/{code}/check-in", json={"language": "en"})
        office.clock.advance(days=1)
        on_day = robot.post(f"/bookings/{code}/check-in", json={"language": "en"})
        twice = robot.post(f"/bookings/{code}/check-in", json={"language": "en"})
        unknown = robot.post("/bookings/NOSUCH/check-in")
        office.clock.advance(days=1)
        late = robot.post(f"/bookings/{code}/check-in")
    assert early.status_code == 409
    assert error_code(early) == "BOOKING_NOT_TODAY"
    assert on_day.status_code == 201
    assert on_day.json() | {"issued_at": ""} == on_day.json() | {
        "number": "B001",
        "booking_code": code,
        "channel": "online",
        "language": "en",
        "issued_at": "",
    }
    assert twice.status_code == 409
    assert error_code(twice) == "ALREADY_CHECKED_IN"
    assert unknown.status_code == 404
    assert error_code(unknown) == "UNKNOWN_CODE"
    assert error_code(late) == "BOOKING_NOT_TODAY"


def test_retried_check_in_with_same_key_returns_the_same_ticket(office):
    code = book(office, "001", "certification", office.today).json()["booking_code"]
    with office.client() as robot:
        headers = {"Idempotency-Key": "checkin-1"}
        first = robot.post(f"/bookings/{code}/check-in", headers=headers)
        again = robot.post(f"/bookings/{code}/check-in", headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]


# ---- counters ------------------------------------------------------------------------------


def test_counter_calls_priority_first_then_order_of_registration(office):
    with office.client() as robot:
        for fields in ({}, {}, {"priority": True}, {}):
            ticket(robot, **fields)
        ticket(robot, "certification")
    with office.client(COUNTER) as counter:
        called = [counter.post("/counters/1/call-next").json()["ticket"] for _ in range(5)]
    assert [t and t["number"] for t in called] == ["A003", "A001", "A002", "A004", None]
    assert called[0]["priority"] is True
    with office.client() as robot, office.client(COUNTER) as counter:
        etag = robot.get("/queue").headers["ETag"]
        assert counter.post("/counters/1/call-next").json()["ticket"] is None  # idle, nothing changes
        assert robot.get("/queue", headers={"If-None-Match": etag}).status_code == 304


def test_live_queue_shows_serving_waiting_and_has_an_etag(office):
    with office.client() as robot:
        first = robot.get("/queue")
        unchanged = robot.get("/queue", headers={"If-None-Match": first.headers["ETag"]})
        for _ in range(4):
            ticket(robot)
        with office.client(COUNTER) as counter:
            counter.post("/counters/2/call-next")
        changed = robot.get("/queue", headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]
    civil = next(s for s in changed.json()["services"] if s["code"] == "civil_status")
    assert civil | {"serving": None} == civil | {
        "now_serving": "A001",
        "waiting": 3,
        "estimated_wait_min": 12,  # 3 waiting x 8 min over 2 counters
        "counters": ["1", "2"],
        "serving": None,
    }


def test_no_show_can_be_recalled_once(office):
    with office.client() as robot:
        ticket(robot, "certification")
        ticket(robot, "certification")
    with office.client(COUNTER) as counter:
        assert counter.post("/counters/3/call-next").json()["ticket"]["number"] == "B001"
        assert counter.post("/counters/3/no-show").json()["ticket"]["status"] == "NO_SHOW"
        not_absent = counter.post("/counters/3/recall", json={"number": "B002"})
        recalled = counter.post("/counters/3/recall", json={"number": "B001"})
        counter.post("/counters/3/no-show")
        again = counter.post("/counters/3/recall", json={"number": "B001"})
        nothing = counter.post("/counters/3/complete")
    assert error_code(not_absent) == "NOT_A_NO_SHOW"
    assert recalled.status_code == 200
    assert recalled.json()["ticket"] | {"status": "SERVING", "recalls": 1} == recalled.json()["ticket"]
    assert again.status_code == 409
    assert error_code(again) == "RECALL_USED"
    assert error_code(nothing) == "NOTHING_SERVING"


def test_simulator_mode_moves_the_queue(tmp_path):
    clock = FakeClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=HANOI))
    server = ServerThread(
        load_config(),
        tmp_path / "sim.sqlite3",
        free_tcp_port(),
        clock=clock,
        simulate_counters=True,
        call_interval_s=0.1,
    )
    with (
        server,
        httpx.Client(base_url=f"{server.url}/api/v1", headers={"Authorization": f"Bearer {ROBOT}"}) as robot,
    ):
        for _ in range(3):
            ticket(robot, "certification")

        def certification_waiting() -> int:
            return next(s for s in robot.get("/queue").json()["services"] if s["code"] == "certification")[
                "waiting"
            ]

        wait_until(
            lambda: certification_waiting() == 0, timeout_s=5, message="counter 3 to call every number"
        )


# ---- applications, feedback, statistics ---------------------------------------------------


def test_application_status_and_overdue_flag(office):
    with office.client() as robot:
        ready = robot.get("/applications/HS-2024-000123").json()
        late = robot.get("/applications/HS-2024-000125").json()
        unknown = robot.get("/applications/HS-0000")
    assert ready["status"] == "READY"
    assert ready["overdue"] is False
    assert late["status"] == "PROCESSING"
    assert late["overdue"] is True
    assert late["due_date"] == (office.today - dt.timedelta(days=5)).isoformat()
    assert unknown.status_code == 404
    assert error_code(unknown) == "UNKNOWN_CODE"


def test_feedback_is_stored_once_per_key_and_rating_is_checked(office):
    with office.client() as robot:
        body = {"rating": 5, "comment": "Cảm ơn robot", "service_code": "certification"}
        first = robot.post("/feedback", json=body, headers={"Idempotency-Key": "fb-1"})
        again = robot.post("/feedback", json=body, headers={"Idempotency-Key": "fb-1"})
        for rating in (0, 6):
            bad = robot.post("/feedback", json={"rating": rating})
            assert bad.status_code == 422
            assert error_code(bad) == "INVALID_RATING"
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json() | {"duplicate": True}
    with office.client(COUNTER) as counter:
        stats = counter.get("/statistics/daily").json()
    assert stats["feedback_count"] == 1


def test_daily_statistics(office):
    with office.client() as robot:
        ticket(robot)
    with office.client(COUNTER) as counter:
        today = counter.get("/statistics/daily").json()
        bad_date = counter.get("/statistics/daily", params={"date": "yesterday"})
    # Demo data: two applications received today (one online), one of five overdue.
    assert today | {"tickets_by_channel": None} == today | {
        "applications_received": 2,
        "share_online": 0.5,
        "share_overdue": 0.2,
        "tickets_issued": 1,
        "tickets_by_channel": None,
    }
    assert bad_date.status_code == 422


# ---- auth and validation --------------------------------------------------------------------


def test_missing_or_wrong_token_is_401_and_wrong_role_is_403(office):
    with office.client(None) as anonymous, office.client("nonsense") as wrong, office.client() as robot:
        missing = anonymous.get("/queue")
        unknown = wrong.get("/queue")
        robot_at_counter = robot.post("/counters/1/call-next")
        robot_booking = robot.post(
            "/bookings", json={"service_code": "civil_status", "citizen_id": "1", "date": "2026-03-10"}
        )
        robot_fault = robot.post("/admin/fault", json={"mode": "down", "duration_s": 5})
    with office.client(COUNTER_3) as counter_3:
        other_counter = counter_3.post("/counters/1/call-next")
        own_counter = counter_3.post("/counters/3/call-next")
    for response in (missing, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert error_code(response) == "UNAUTHORIZED"
    for response in (robot_at_counter, robot_booking, robot_fault, other_counter):
        assert response.status_code == 403
        assert error_code(response) == "FORBIDDEN"
    assert own_counter.status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b'{"service_code": "civil_status"', 400, "INVALID_JSON"),
        (b"\xff\xfe not utf-8", 400, "INVALID_JSON"),
        (b"[1, 2, 3]", 422, "INVALID_REQUEST"),
        (b'"civil_status"', 422, "INVALID_REQUEST"),
        (b"null", 422, "INVALID_REQUEST"),
        (b"{}", 422, "INVALID_REQUEST"),
        (b'{"service_code": 7}', 422, "INVALID_REQUEST"),
        (b'{"service_code": "civil_status", "channel": "fax"}', 422, "INVALID_REQUEST"),
        (b'{"service_code": "civil_status", "citizen_id": "' + b"9" * 40 + b'"}', 422, "INVALID_REQUEST"),
        (b'{"service_code": "passports"}', 404, "UNKNOWN_SERVICE"),
    ],
)
def test_bad_ticket_requests_get_a_clear_4xx(office, content, status, code):
    with office.client() as robot:
        response = robot.post("/tickets", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert error_code(response) == code
    assert response.json()["error"]["message"]


def test_oversize_bodies_are_refused_with_413(office):
    big = b'{"rating": 5, "comment": "' + b"x" * 20_000 + b'"}'
    with office.client() as robot:
        declared = robot.post("/feedback", content=big, headers={"Content-Type": "application/json"})
        chunked = robot.post("/feedback", content=iter([big[:10_000], big[10_000:]]))
    for response in (declared, chunked):
        assert response.status_code == 413
        assert error_code(response) == "BODY_TOO_LARGE"


def test_bad_booking_dates_and_unknown_paths_are_4xx(office):
    with office.client(ADMIN) as admin:
        not_a_date = admin.post(
            "/bookings", json={"service_code": "civil_status", "citizen_id": "1", "date": "soon"}
        )
        unknown_service = book(office, "1", "passports", office.today)
        no_route = admin.get("/nothing-here")
        wrong_method = admin.delete("/queue")
    assert not_a_date.status_code == 422
    assert error_code(unknown_service) == "UNKNOWN_SERVICE"
    assert no_route.status_code == 404
    assert error_code(no_route) == "NOT_FOUND"
    assert wrong_method.status_code == 405


def test_fault_switch_makes_the_api_unavailable_until_cleared(office):
    with office.client(ADMIN) as admin, office.client() as robot:
        assert admin.post("/admin/fault", json={"mode": "down", "duration_s": 30}).json()["mode"] == "down"
        down = robot.get("/queue")
        state = admin.get("/admin/fault").json()
        admin.post("/admin/fault", json={"mode": "none", "duration_s": 1})
        back = robot.get("/queue")
        bad_mode = admin.post("/admin/fault", json={"mode": "explode", "duration_s": 1})
    assert down.status_code == 503
    assert state["mode"] == "down"
    assert 0 < state["remaining_s"] <= 30
    assert back.status_code == 200
    assert bad_mode.status_code == 422


def test_openapi_document_describes_the_api(office):
    document = httpx.get(f"{office.server.url}/openapi.json").json()
    assert {"/api/v1/tickets", "/api/v1/queue", "/api/v1/bookings/{booking_code}/check-in"} <= set(
        document["paths"]
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    ["service_code", "citizen_id", "priority", "language", "channel", "date", "rating", "comment", "number"]
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(
        [
            "/tickets",
            "/bookings",
            "/bookings/ABC234/check-in",
            "/counters/1/recall",
            "/feedback",
            "/counters/9/complete",
        ]
    ),
    body=JSON_VALUES | st.dictionaries(FIELDS, JSON_VALUES, max_size=5),
    raw=st.none() | st.binary(max_size=40),
)
def test_no_input_makes_the_server_answer_500(office, path, body, raw):
    with office.client(ADMIN) as admin:
        if raw is None:
            response = admin.post(path, json=body, headers={"Idempotency-Key": "fuzz"})
        else:
            response = admin.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
