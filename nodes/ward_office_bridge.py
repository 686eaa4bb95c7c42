"""ward_office_bridge: the robot's link to the ward office server (robot/ward_office core).

Publishes /queue/state (QueueState, latched) at `poll_rate_hz` with `server_reachable`
and the age of the data; serves /ward_office/issue_ticket, /ward_office/check_in,
/ward_office/application_status and /ward_office/feedback with stable error codes;
reports the link and the outbox on /diagnostics. Feedback goes through the durable
outbox (accepted at once, delivered in order when the server is back).

Threading: a poller thread and an outbox delivery thread of its own; service callbacks
run in a reentrant group on the executor's threads and hold no lock while on the
network. A dead server costs at most one timeout per call until the circuit breaker
opens; after that every call fails at once with SERVER_UNREACHABLE. Any unexpected error
in a callback becomes an INTERNAL_ERROR reply, never a crashed node.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from service_desk_interfaces.msg import QueueState, ServiceQueue, Ticket
from service_desk_interfaces.srv import ApplicationStatus, CheckInBooking, IssueTicket, SubmitFeedback
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.robot.ward_office.breaker import OPEN, CircuitBreaker
from service_desk_robot.robot.ward_office.client import RetryPolicy, Timeouts, WardOfficeClient
from service_desk_robot.robot.ward_office.errors import (
    SERVER_UNREACHABLE,
    CircuitOpenError,
    OutboxError,
    ServerUnavailableError,
    WardOfficeError,
)
from service_desk_robot.robot.ward_office.models import QueueSnapshot, TicketInfo
from service_desk_robot.robot.ward_office.outbox import DELIVERED, Outbox, OutboxDelivery

NODE_NAME = "ward_office_bridge"
TOKEN_ENV = "SERVICE_DESK_WARD_OFFICE_TOKEN"
# Booking and receipt codes as printed and typed: letters, digits, dashes.
CODE_PATTERN = re.compile(r"[A-Za-z0-9-]{1,40}")
LANGUAGE_PATTERN = re.compile(r"[a-z]{2}(-[A-Za-z]{2,4})?")  # "vi", "en", "en-US"
FEEDBACK = "feedback"
OUTBOX_KEEP_S = 7 * 24 * 3600.0
SERVICE_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)

PARAMETERS: dict[str, str] = {
    "server_url": "base URL of the ward office server (without /api/v1)",
    "token": f"bearer token with the robot role; the environment variable {TOKEN_ENV} overrides it",
    "channel": "channel recorded for tickets issued here: robot or kiosk",
    "poll_rate_hz": "live queue polls per second",
    "connect_timeout_s": "HTTP connect timeout, seconds",
    "read_timeout_s": "HTTP read timeout, seconds",
    "write_timeout_s": "HTTP write timeout, seconds",
    "pool_timeout_s": "wait for a free HTTP connection, seconds",
    "retry_attempts": "tries of an idempotent call, the first included",
    "retry_backoff_s": "wait before the second try, doubling after, seconds",
    "breaker_failure_threshold": "failed calls in a row that open the circuit breaker",
    "breaker_reset_s": "seconds an open breaker fails calls at once before a trial call",
    "outbox_dir": "folder of the durable feedback outbox (~ expanded)",
    "outbox_retry_s": "seconds between delivery attempts while the server is unreachable",
    "feedback_wait_s": "how long a feedback call waits for delivery before answering queued=true",
    "max_comment_chars": "longest feedback comment accepted, characters",
    "stale_after_s": "queue data older than this is a diagnostic WARN, seconds",
    "outbox_warn_age_s": "feedback pending longer than this is a diagnostic WARN, seconds",
}

Reply = TypeVar("Reply")


def ticket_msg(info: TicketInfo) -> Ticket:
    return Ticket(
        number=info.number,
        service_code=info.service_code,
        service_name_vi=info.service_name_vi,
        service_name_en=info.service_name_en,
        people_ahead=info.people_ahead,
        estimated_wait_min=info.estimated_wait_min,
        counters=list(info.counters),
        issued_at=info.issued_at,
        booking_code=info.booking_code,
        priority=info.priority,
        channel=info.channel,
        language=info.language,
    )


class WardOfficeBridge(Node):
    def __init__(self, **node_options: Any) -> None:
        super().__init__(NODE_NAME, **node_options)
        declare = Parameters(self, yaml_defaults(NODE_NAME)).get
        p: dict[str, Any] = {
            name: declare(name, description, read_only=False) for name, description in PARAMETERS.items()
        }
        self.server_url: str = p["server_url"]
        self._channel: str = p["channel"]
        self._period_s = 1.0 / max(0.01, float(p["poll_rate_hz"]))
        self._feedback_wait_s = float(p["feedback_wait_s"])
        self._outbox_retry_s = float(p["outbox_retry_s"])
        self._max_comment_chars = int(p["max_comment_chars"])
        self._stale_after_s = float(p["stale_after_s"])
        self._outbox_warn_age_s = float(p["outbox_warn_age_s"])

        self.breaker = CircuitBreaker(int(p["breaker_failure_threshold"]), float(p["breaker_reset_s"]))
        self.client = WardOfficeClient(
            self.server_url,
            os.environ.get(TOKEN_ENV) or p["token"],
            timeouts=Timeouts(
                p["connect_timeout_s"], p["read_timeout_s"], p["write_timeout_s"], p["pool_timeout_s"]
            ),
            retry=RetryPolicy(
                attempts=max(1, int(p["retry_attempts"])), backoff_s=float(p["retry_backoff_s"])
            ),
            breaker=self.breaker,
        )
        self.outbox: Outbox | None = None
        self._outbox_error = ""
        try:
            self.outbox = Outbox(Path(os.path.expanduser(p["outbox_dir"])))
        except OutboxError as error:
            self._outbox_error = str(error)
            self.get_logger().error(f"feedback outbox unavailable, feedback will be refused: {error}")
        self._delivery = (
            None if self.outbox is None else OutboxDelivery(self.outbox, {FEEDBACK: self._send_feedback})
        )

        # Guarded state: what the poller learned, read by the publisher and diagnostics.
        self._lock = threading.Lock()
        self._snapshot: QueueSnapshot | None = None
        self._etag: str | None = None
        self._reachable = False
        self._last_success: float | None = None  # monotonic
        self._last_error = "no poll yet"
        self._last_error_type: type[WardOfficeError] | None = None
        self._counts = {"ok": 0, "failed": 0, "unreachable": 0}
        self._delivered = threading.Condition()  # notified after each outbox delivery round

        self._state_pub = self.create_publisher(QueueState, "/queue/state", qos.latched_state())
        group = ReentrantCallbackGroup()
        for srv_type, name, handler in (
            (IssueTicket, "/ward_office/issue_ticket", self._issue_ticket),
            (CheckInBooking, "/ward_office/check_in", self._check_in),
            (ApplicationStatus, "/ward_office/application_status", self._application),
            (SubmitFeedback, "/ward_office/feedback", self._feedback),
        ):
            # Deeper request queue than the default 10: bursts (several screens) wait, not drop.
            self.create_service(
                srv_type, name, self._guard(handler), qos_profile=SERVICE_QOS, callback_group=group
            )
        self.diagnostics = Diagnostics(self, hardware_id=self.server_url)
        self.diagnostics.add("server link", self._link_health)
        self.diagnostics.add("feedback outbox", self._outbox_health)

        self._stop = threading.Event()
        self._wake_delivery = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll_loop, name="ward-office-poll", daemon=True),
            threading.Thread(target=self._delivery_loop, name="ward-office-outbox", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self.get_logger().info(
            f"ward office bridge to {self.server_url}, polling every {self._period_s:.2f} s"
        )

    def close(self) -> None:
        """Stop the threads and release the HTTP client and the outbox (run_node calls it)."""
        self._stop.set()
        self._wake_delivery.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self.client.close()
        if self.outbox is not None:
            self.outbox.close()

    # ---- live queue -----------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            started = time.monotonic()
            try:
                self.poll_once()
            except Exception as error:  # noqa: BLE001 - the poller must outlive any one bad poll
                if self.context.ok():
                    self.get_logger().error(f"queue poll failed: {error!r}")
            self._stop.wait(max(0.0, self._period_s - (time.monotonic() - started)))

    def poll_once(self) -> None:
        try:
            snapshot, etag = self.client.queue(self._etag)
        except WardOfficeError as error:
            self._set_unreachable(error)
        else:
            with self._lock:
                if snapshot is not None:
                    self._snapshot, self._etag = snapshot, etag
                if not self._reachable:
                    self.get_logger().info("ward office server reachable")
                self._reachable, self._last_success = True, time.monotonic()
        self._publish_state()

    def _set_unreachable(self, error: WardOfficeError) -> None:
        with self._lock:
            # Log transitions only: while the breaker is open, polls fail at once (CircuitOpenError)
            # between trial calls; a new kind of real failure is worth a line.
            new_kind = not isinstance(error, CircuitOpenError) and self._last_error_type is not type(error)
            if self._reachable or new_kind:
                self.get_logger().warning(f"ward office server unreachable: {error}")
            if not isinstance(error, CircuitOpenError):
                self._last_error_type = type(error)
            self._reachable, self._last_error = False, str(error)

    def _publish_state(self) -> None:
        msg = QueueState()
        msg.header.stamp = self.get_clock().now().to_msg()
        with self._lock:
            msg.server_reachable = self._reachable
            msg.data_age_s = -1.0 if self._last_success is None else time.monotonic() - self._last_success
            services = () if self._snapshot is None else self._snapshot.services
        msg.services = [
            ServiceQueue(
                code=s.code,
                letter=s.letter,
                name_vi=s.name_vi,
                name_en=s.name_en,
                now_serving=s.now_serving,
                waiting=s.waiting,
                estimated_wait_min=s.estimated_wait_min,
                counters=list(s.counters),
            )
            for s in services
        ]
        self._state_pub.publish(msg)

    # ---- services -------------------------------------------------------------------------

    def _guard(self, handler: Callable[[Any, Reply], Reply]) -> Callable[[Any, Reply], Reply]:
        """Map link errors onto the reply's error_code; never let a callback raise."""

        def callback(request: Any, response: Reply) -> Reply:
            try:
                result = handler(request, response)
                self._count("ok" if result.success else "failed")
                return result
            except WardOfficeError as error:
                if isinstance(error, ServerUnavailableError):
                    self._count("unreachable")
                    self._set_unreachable(error)
                else:
                    self._count("failed")
                return self._fail(response, error.error_code, error.message)
            except Exception as error:  # noqa: BLE001 - a bug must cost one reply, not the node
                self._count("failed")
                self.get_logger().error(f"{handler.__name__} failed: {error!r}")
                return self._fail(response, "INTERNAL_ERROR", f"bridge error: {error!r}")

        return callback

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._counts[outcome] += 1

    @staticmethod
    def _fail(response: Reply, code: str, message: str) -> Reply:
        response.success = False
        response.error_code = code
        response.message = message
        return response

    def _issue_ticket(
        self, request: IssueTicket.Request, response: IssueTicket.Response
    ) -> IssueTicket.Response:
        if not request.service_code.strip():
            return self._fail(response, "UNKNOWN_SERVICE", "no service code given")
        info = self.client.issue_ticket(
            request.service_code.strip(),
            citizen_id=request.citizen_id.strip(),
            priority=request.priority,
            language=request.language or "vi",
            channel=self._channel,
            # A key of our own when the caller gave none, so the call is safe to retry.
            idempotency_key=request.idempotency_key or f"robot-ticket-{uuid.uuid4()}",
        )
        response.success, response.ticket = True, ticket_msg(info)
        response.message = f"ticket {info.number}, {info.people_ahead} ahead"
        return response

    def _check_in(
        self, request: CheckInBooking.Request, response: CheckInBooking.Response
    ) -> CheckInBooking.Response:
        code = request.booking_code.strip().upper()
        if not CODE_PATTERN.fullmatch(code):
            return self._fail(response, "UNKNOWN_CODE", f"not a booking code: {request.booking_code!r}")
        info = self.client.check_in(
            code, language=request.language or "vi", idempotency_key=f"robot-checkin-{uuid.uuid4()}"
        )
        response.success, response.ticket = True, ticket_msg(info)
        response.message = f"booking {code} checked in as {info.number}"
        return response

    def _application(
        self, request: ApplicationStatus.Request, response: ApplicationStatus.Response
    ) -> ApplicationStatus.Response:
        code = request.receipt_code.strip().upper()
        if not CODE_PATTERN.fullmatch(code):
            return self._fail(response, "UNKNOWN_CODE", f"not a receipt code: {request.receipt_code!r}")
        info = self.client.application_status(code)
        response.success = True
        response.status = info.status
        response.procedure_name_vi = info.procedure_name_vi
        response.procedure_name_en = info.procedure_name_en
        response.due_date = info.due_date
        response.overdue = info.overdue
        response.message = f"{code}: {info.status}"
        return response

    def _feedback(
        self, request: SubmitFeedback.Request, response: SubmitFeedback.Response
    ) -> SubmitFeedback.Response:
        if not 1 <= request.rating <= 5:
            return self._fail(response, "INVALID_RATING", f"rating must be 1 to 5, got {request.rating}")
        if len(request.comment) > self._max_comment_chars:
            return self._fail(
                response, "COMMENT_TOO_LONG", f"comment longer than {self._max_comment_chars} characters"
            )
        language = request.language or "vi"
        if not LANGUAGE_PATTERN.fullmatch(language):
            return self._fail(response, "INVALID_LANGUAGE", f"not a language code: {request.language!r}")
        if request.service_code and self._unknown_service(request.service_code):
            return self._fail(response, "UNKNOWN_SERVICE", f"unknown service {request.service_code!r}")
        if self.outbox is None:
            return self._fail(response, OutboxError.error_code, self._outbox_error)
        payload = {
            "rating": int(request.rating),
            "comment": request.comment,
            "service_code": request.service_code,
            "language": language,
        }
        item = self.outbox.put(FEEDBACK, payload, request.idempotency_key or f"robot-feedback-{uuid.uuid4()}")
        self._wake_delivery.set()
        delivered = item.state == DELIVERED
        if not delivered and self.breaker.state != OPEN:
            delivered = self._wait_delivered(self.outbox, item.id, self._feedback_wait_s)
        response.success, response.queued = True, not delivered
        response.message = "feedback delivered" if delivered else "feedback stored, will be delivered"
        return response

    def _unknown_service(self, code: str) -> bool:
        """Not in the last queue seen (before the first poll nothing is known to be wrong)."""
        with self._lock:
            return self._snapshot is not None and code not in {s.code for s in self._snapshot.services}

    def _wait_delivered(self, outbox: Outbox, item_id: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._delivered:
            while True:
                item = outbox.get(item_id)
                remaining = deadline - time.monotonic()
                delivered = item is not None and item.state == DELIVERED
                # Give up early once a delivery round found the server unreachable.
                if delivered or remaining <= 0 or self.breaker.state == OPEN:
                    return delivered
                self._delivered.wait(remaining)

    # ---- outbox delivery ------------------------------------------------------------------

    def _send_feedback(self, payload: dict[str, Any], key: str) -> None:
        self.client.submit_feedback(
            payload["rating"], payload["comment"], payload["service_code"], payload["language"], key
        )

    def _delivery_loop(self) -> None:
        if self._delivery is None:
            return
        wait_s = 0.0
        while not self._stop.is_set():
            self._wake_delivery.wait(wait_s)
            self._wake_delivery.clear()
            if self._stop.is_set():
                return
            try:
                report = self._delivery.deliver_pending()
            except Exception as error:  # noqa: BLE001 - disk or bug: report, retry later, keep running
                self.get_logger().error(f"feedback delivery failed: {error!r}")
                self._outbox_error = str(error)
                wait_s = self._outbox_retry_s
                continue
            self._outbox_error = ""
            with self._delivered:
                self._delivered.notify_all()  # waiting callers: delivered, or no use waiting
            if report.delivered:
                self._prune_outbox()
            if report.stopped_by is not None:
                # Wait at least until the breaker would let a trial call through.
                wait_s = max(self._outbox_retry_s, self.breaker.retry_in_s())
            elif report.delivered or report.rejected:
                wait_s = 0.0  # maybe more than one batch is pending
            else:
                wait_s = self._outbox_retry_s

    def _prune_outbox(self) -> None:
        """Keep delivered items a week (a repeated key is still recognised), then forget them."""
        if self.outbox is not None:
            self.outbox.prune(OUTBOX_KEEP_S)

    # ---- diagnostics ----------------------------------------------------------------------

    def _link_health(self) -> Health:
        with self._lock:
            reachable, last_success, last_error = self._reachable, self._last_success, self._last_error
            counts = dict(self._counts)
        age = -1.0 if last_success is None else time.monotonic() - last_success
        values = {"url": self.server_url, "breaker": self.breaker.state, "data_age_s": f"{age:.1f}", **counts}
        if not reachable:
            return Health.error(f"server unreachable ({SERVER_UNREACHABLE}): {last_error}", **values)
        if age > self._stale_after_s:
            return Health.warn(f"queue data {age:.0f} s old", **values)
        return Health.ok("server reachable", **values)

    def _outbox_health(self) -> Health:
        if self.outbox is None:
            return Health.error(f"outbox unavailable: {self._outbox_error}")
        counts = self.outbox.counts()
        values = {
            "pending": counts.pending,
            "delivered": counts.delivered,
            "rejected": counts.rejected,
            "oldest_pending_s": f"{counts.oldest_pending_age_s:.0f}",
            "path": str(self.outbox.path),
        }
        if self._outbox_error:
            return Health.error(f"outbox failing: {self._outbox_error}", **values)
        if counts.pending and counts.oldest_pending_age_s > self._outbox_warn_age_s:
            return Health.warn(f"{counts.pending} feedback item(s) waiting for the server", **values)
        return Health.ok(f"{counts.pending} pending", **values)


def main() -> int:
    return run_node(WardOfficeBridge)


if __name__ == "__main__":
    raise SystemExit(main())
