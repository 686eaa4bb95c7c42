"""What goes into the dialogue manager (events) and what comes out (effects).

The manager is a pure function of its events: the node turns ROS messages, service
replies and action results into these events, and carries the effects out (speak, call
a service, send an action goal, publish). All are frozen dataclasses: safe to hand
between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------- values


@dataclass(frozen=True)
class TicketInfo:
    """A queue ticket as the ward office server issued it (mirrors the Ticket message)."""

    number: str
    service_code: str
    service_name: Mapping[str, str] = field(default_factory=dict)  # language -> name
    people_ahead: int = 0
    estimated_wait_min: int = 0
    counters: tuple[str, ...] = ()
    issued_at: str = ""
    booking_code: str = ""
    priority: bool = False
    channel: str = "robot"
    language: str = "vi"


@dataclass(frozen=True)
class DialogueSnapshot:
    """What /dialogue/state shows."""

    state: str
    visitor_id: str
    language: str
    last_robot_sentence: str
    last_action: str
    ticket_number: str
    ticket_not_printed: bool
    greeting_paused: bool
    options: tuple[str, ...]


@dataclass(frozen=True)
class Act:
    """One thing the robot did (/dialogue/acts): kind is say, ticket, dispense or error."""

    kind: str
    visitor_id: str
    text: str = ""
    language: str = ""
    ticket_number: str = ""
    service_code: str = ""
    people_ahead: int = 0
    printed: bool = False
    item: str = ""
    count: int = 0
    ok: bool = False
    code: str = ""


# ---------------------------------------------------------------------------- events


@dataclass(frozen=True)
class VisitorEngaged:
    visitor_id: str


@dataclass(frozen=True)
class VisitorLeft:
    visitor_id: str


@dataclass(frozen=True)
class Heard:
    """A final utterance; `intent` set means touch input that skips understanding."""

    text: str
    language: str = ""
    intent: str = ""
    argument: str = ""


@dataclass(frozen=True)
class SpeakingChanged:
    speaking: bool


@dataclass(frozen=True)
class SayFinished:
    request_id: str
    ok: bool
    error_code: str = ""


@dataclass(frozen=True)
class TicketResult:
    """Reply to IssueTicket or CheckInBooking."""

    request_id: str
    ok: bool
    error_code: str = ""
    ticket: TicketInfo | None = None


@dataclass(frozen=True)
class PrintResult:
    request_id: str
    ok: bool
    error_code: str = ""
    kept_for_reprint: bool = False


@dataclass(frozen=True)
class DispenseResult:
    request_id: str
    ok: bool
    error_code: str = ""
    dispensed: int = 0


@dataclass(frozen=True)
class StatusResult:
    request_id: str
    ok: bool
    error_code: str = ""
    status: str = ""
    procedure_name: Mapping[str, str] = field(default_factory=dict)
    due_date: str = ""  # ISO 8601 date
    overdue: bool = False


@dataclass(frozen=True)
class FeedbackResult:
    request_id: str
    ok: bool
    queued: bool = False
    error_code: str = ""


@dataclass(frozen=True)
class GreetingPaused:
    paused: bool


@dataclass(frozen=True)
class Tick:
    """Time passed (the manager reads its injected clock): idle timeouts fire here."""


Event = (
    VisitorEngaged
    | VisitorLeft
    | Heard
    | SpeakingChanged
    | SayFinished
    | TicketResult
    | PrintResult
    | DispenseResult
    | StatusResult
    | FeedbackResult
    | GreetingPaused
    | Tick
)

# ---------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Say:
    request_id: str
    text: str
    language: str


@dataclass(frozen=True)
class StopSpeaking:
    """The visitor spoke over the robot: stop the sentence and drop queued ones."""


@dataclass(frozen=True)
class IssueTicket:
    request_id: str  # also the idempotency key: a retried request gets the same ticket
    service_code: str
    priority: bool
    language: str


@dataclass(frozen=True)
class CheckInBooking:
    request_id: str
    booking_code: str
    language: str


@dataclass(frozen=True)
class PrintTicket:
    request_id: str
    ticket: TicketInfo


@dataclass(frozen=True)
class LookUpApplication:
    request_id: str
    receipt_code: str


@dataclass(frozen=True)
class SubmitFeedback:
    request_id: str  # also the idempotency key
    rating: int
    comment: str
    service_code: str
    language: str


@dataclass(frozen=True)
class Dispense:
    request_id: str
    item: str
    count: int
    visitor_id: str


@dataclass(frozen=True)
class PublishState:
    snapshot: DialogueSnapshot


@dataclass(frozen=True)
class PublishAct:
    act: Act


Effect = (
    Say
    | StopSpeaking
    | IssueTicket
    | CheckInBooking
    | PrintTicket
    | LookUpApplication
    | SubmitFeedback
    | Dispense
    | PublishState
    | PublishAct
)
