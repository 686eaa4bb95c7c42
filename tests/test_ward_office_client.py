"""The robot's ward office client and circuit breaker, against an injected httpx transport.

No server and no sleeps: the transport is httpx.MockTransport, the backoff sleep and the
breaker's clock are fakes the tests step.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from service_desk_robot.robot.ward_office.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from service_desk_robot.robot.ward_office.client import RetryPolicy, Timeouts, WardOfficeClient
from service_desk_robot.robot.ward_office.errors import (
    AuthRejectedError,
    BadResponseError,
    CircuitOpenError,
    ConnectFailedError,
    RequestRejectedError,
    RequestTimeoutError,
    ServerFaultError,
    ServerUnavailableError,
    WardOfficeError,
)

TICKET = {
    "number": "B007",
    "service_code": "certification",
    "service_name_vi": "Chứng thực",
    "service_name_en": "Certification",
    "people_ahead": 2,
    "estimated_wait_min": 8,
    "counters": ["3"],
    "issued_at": "2026-03-10T09:00:00+07:00",
    "booking_code": "",
    "priority": False,
    "channel": "robot",
    "language": "vi",
}
QUEUE = {
    "day": "2026-03-10",
    "services": [
        {
            "code": "certification",
            "letter": "B",
            "name_vi": "Chứng thực",
            "name_en": "Certification",
            "now_serving": "B003",
            "waiting": 4,
            "estimated_wait_min": 16,
            "counters": ["3"],
        }
    ],
}


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Recorder:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(
        self, *answers: Callable[[httpx.Request], httpx.Response] | httpx.Response | Exception
    ) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer(request) if callable(answer) else answer


def make_client(handler: Recorder, *, attempts: int = 3, threshold: int = 3, clock=None):
    sleeps: list[float] = []
    breaker = CircuitBreaker(threshold, reset_after_s=5.0, clock=clock or FakeClock())
    client = WardOfficeClient(
        "http://ward-office.test",
        "robot-token",
        timeouts=Timeouts(connect_s=0.2, read_s=1.5, write_s=1.0, pool_s=0.3),
        retry=RetryPolicy(attempts=attempts, backoff_s=0.1, max_backoff_s=0.15),
        breaker=breaker,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
    )
    return client, sleeps


def ok(body: object, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_success_parses_and_sends_token_key_and_per_phase_timeouts():
    handler = Recorder(ok(TICKET, 201))
    client, _ = make_client(handler)
    ticket = client.issue_ticket("certification", citizen_id="079", idempotency_key="k-1")
    request = handler.requests[0]
    assert ticket.number == "B007"
    assert ticket.counters == ("3",)
    assert request.url.path == "/api/v1/tickets"
    assert request.headers["Authorization"] == "Bearer robot-token"
    assert request.headers["Idempotency-Key"] == "k-1"
    assert json.loads(request.content)["citizen_id"] == "079"
    assert request.extensions["timeout"] == {"connect": 0.2, "read": 1.5, "write": 1.0, "pool": 0.3}


def test_queue_uses_etag_and_304_means_unchanged():
    handler = Recorder(ok(QUEUE, ETag='"d-1"'), httpx.Response(304, headers={"ETag": '"d-1"'}))
    client, _ = make_client(handler)
    snapshot, etag = client.queue()
    again, same = client.queue(etag)
    assert snapshot is not None
    assert snapshot.services[0].now_serving == "B003"
    assert (again, same) == (None, '"d-1"')
    assert handler.requests[1].headers["If-None-Match"] == '"d-1"'


def test_idempotent_get_is_retried_with_backoff_then_succeeds():
    handler = Recorder(httpx.ConnectError("refused"), ok({}, 503), ok(QUEUE))
    client, sleeps = make_client(handler)
    snapshot, _ = client.queue()
    assert snapshot is not None
    assert len(handler.requests) == 3
    assert sleeps == [0.1, 0.15]  # doubled, capped at max_backoff_s
    assert client.breaker.state == CLOSED


def test_post_without_key_is_not_retried_after_a_read_timeout():
    handler = Recorder(httpx.ReadTimeout("slow"))
    client, sleeps = make_client(handler)
    with pytest.raises(RequestTimeoutError) as caught:
        client.issue_ticket("certification")
    assert len(handler.requests) == 1
    assert sleeps == []
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert caught.value.error_code == "SERVER_UNREACHABLE"


def test_post_without_key_is_retried_when_nothing_was_sent():
    handler = Recorder(httpx.ConnectError("refused"), ok(TICKET, 201))
    client, _ = make_client(handler)
    assert client.issue_ticket("certification").number == "B007"
    assert len(handler.requests) == 2


def test_post_without_key_is_retried_after_a_connect_timeout():
    handler = Recorder(httpx.ConnectTimeout("no syn-ack"), ok(TICKET, 201))
    client, _ = make_client(handler)
    assert client.issue_ticket("certification").number == "B007"
    assert len(handler.requests) == 2


def test_permanent_server_errors_are_not_retried():
    handler = Recorder(ok({}, 501))
    client, _ = make_client(handler)
    with pytest.raises(ServerFaultError):
        client.queue()
    assert len(handler.requests) == 1


def test_post_with_key_is_retried_after_a_server_error():
    handler = Recorder(ok({}, 500), ok(TICKET, 201))
    client, _ = make_client(handler)
    assert client.issue_ticket("certification", idempotency_key="k").number == "B007"
    assert [r.headers["Idempotency-Key"] for r in handler.requests] == ["k", "k"]


def test_post_without_key_is_not_retried_after_a_server_error():
    handler = Recorder(ok({}, 502))
    client, _ = make_client(handler)
    with pytest.raises(ServerFaultError) as caught:
        client.issue_ticket("certification")
    assert caught.value.status == 502
    assert len(handler.requests) == 1


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b'{"day": "2026', headers={"Content-Type": "application/json"}),
        httpx.Response(200, content=b"<html>login</html>", headers={"Content-Type": "text/html"}),
        httpx.Response(200, json={"day": "2026-03-10", "services": [{"code": "x"}]}),
        httpx.Response(200, json=[1, 2]),
    ],
    ids=["malformed-json", "wrong-content-type", "missing-fields", "not-an-object"],
)
def test_garbage_replies_are_bad_response_errors(response):
    client, _ = make_client(Recorder(response), attempts=1)
    with pytest.raises(BadResponseError) as caught:
        client.queue()
    assert isinstance(caught.value, ServerUnavailableError)


def test_server_refusals_carry_the_server_code_and_are_not_retried():
    refusal = ok({"error": {"code": "LIMIT_REACHED", "message": "two numbers already"}}, 409)
    handler = Recorder(refusal)
    client, _ = make_client(handler)
    with pytest.raises(RequestRejectedError) as caught:
        client.issue_ticket("certification", citizen_id="079", idempotency_key="k")
    assert (caught.value.error_code, caught.value.status) == ("LIMIT_REACHED", 409)
    assert caught.value.message == "two numbers already"
    assert len(handler.requests) == 1
    assert client.breaker.state == CLOSED


def test_refusal_without_an_envelope_gets_a_generic_code():
    client, _ = make_client(Recorder(httpx.Response(404, text="no")))
    with pytest.raises(RequestRejectedError) as caught:
        client.application_status("HS-1")
    assert caught.value.error_code == "HTTP_404"


def test_auth_failures_are_their_own_class():
    client, _ = make_client(Recorder(ok({"error": {"code": "UNAUTHORIZED", "message": "bad token"}}, 401)))
    with pytest.raises(AuthRejectedError) as caught:
        client.queue()
    assert caught.value.error_code == "UNAUTHORIZED"


def test_codes_are_sent_as_one_path_segment():
    handler = Recorder(ok({"error": {"code": "UNKNOWN_CODE", "message": "?"}}, 404))
    client, _ = make_client(handler)
    with pytest.raises(RequestRejectedError):
        client.application_status("../admin/fault")
    assert handler.requests[0].url.raw_path == b"/api/v1/applications/..%2Fadmin%2Ffault"


def test_breaker_opens_after_failures_and_fails_fast_until_reset():
    clock = FakeClock()
    handler = Recorder(httpx.ConnectError("refused"))
    client, _ = make_client(handler, attempts=1, threshold=2, clock=clock)
    for _ in range(2):
        with pytest.raises(ConnectFailedError):
            client.queue()
    with pytest.raises(CircuitOpenError) as caught:
        client.queue()
    assert len(handler.requests) == 2  # the third call never reached the transport
    assert caught.value.error_code == "SERVER_UNREACHABLE"
    clock.t += 5.0
    handler.answers = [ok(QUEUE)]
    assert client.queue()[0] is not None  # the trial call goes through and closes it
    assert client.breaker.state == CLOSED


def test_every_error_is_a_ward_office_error():
    for error in (CircuitOpenError, BadResponseError, RequestTimeoutError, ConnectFailedError):
        assert issubclass(error, ServerUnavailableError)
    assert issubclass(AuthRejectedError, RequestRejectedError)
    assert issubclass(ServerUnavailableError, WardOfficeError)
    assert issubclass(RequestRejectedError, WardOfficeError)


def test_half_open_lets_one_trial_through_and_a_failure_reopens():
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after_s=2.0, clock=clock)
    breaker.record_failure()
    assert breaker.state == OPEN
    assert breaker.retry_in_s() == pytest.approx(2.0)
    clock.t += 2.0
    assert breaker.state == HALF_OPEN
    assert breaker.allow() is True
    assert breaker.allow() is False  # one trial at a time
    breaker.record_failure()
    assert breaker.state == OPEN
    clock.t += 2.0
    assert breaker.allow() is True
    breaker.record_success()
    assert breaker.state == CLOSED
    assert breaker.allow() is True


def test_breaker_rejects_nonsense_settings():
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
