"""The dialogue manager: one explicit state machine per visitor session.

`DialogueManager.handle(event) -> list[Effect]` is the whole interface. Events are what
happened (a visitor engaged or left, words heard, a service replied, time passed);
effects are what to do (say, issue a ticket, print, dispense, publish). The manager never
waits: it records which request it is waiting for and reacts when the result event
comes back; a result for a request it no longer waits for (the visitor left) is ignored.

Session states (DialogueSnapshot.state; while a request is outstanding the snapshot
shows the request's busy state instead, e.g. ISSUING_TICKET):

    IDLE --ENGAGED--> LISTENING (greets once per visitor, in the default language)
    LISTENING --"a number"--> CHOOSING_SERVICE --service--> (issue, print) --> LISTENING
    LISTENING --"check in"--> ASKING_BOOKING_CODE --code--> (check in, print) --> LISTENING
    LISTENING --"status"--> ASKING_RECEIPT_CODE --code--> (look up) --> LISTENING
    LISTENING --"feedback"--> ASKING_RATING --1..5--> ASKING_COMMENT --text--> (submit)
    LISTENING --"fee?"--> ASKING_PROCEDURE --procedure--> LISTENING
    LISTENING --"birth registration"--> OFFERING_TICKET --yes--> (issue, print)
    any --LEFT / "goodbye" / idle timeout--> IDLE (says goodbye)

Not understood: clarify once, then offer the menu, then (third time running) suggest a
staff member. Language: Vietnamese until the visitor speaks English, and back.

Threading: not thread-safe; the node serialises calls to `handle` with a lock.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from service_desk_robot.robot.dialogue.config import ASPECTS, LANGUAGES, DialogueConfig, Procedure
from service_desk_robot.robot.dialogue.messages import (
    Act,
    CheckInBooking,
    DialogueSnapshot,
    Dispense,
    DispenseResult,
    Effect,
    Event,
    FeedbackResult,
    GreetingPaused,
    Heard,
    IssueTicket,
    LookUpApplication,
    PrintResult,
    PrintTicket,
    PublishAct,
    PublishState,
    Say,
    SayFinished,
    SpeakingChanged,
    StatusResult,
    StopSpeaking,
    SubmitFeedback,
    Tick,
    TicketInfo,
    TicketResult,
    VisitorEngaged,
    VisitorLeft,
)
from service_desk_robot.robot.dialogue.nlu import Interpreter, Understanding
from service_desk_robot.robot.dialogue.text import read_code

logger = logging.getLogger(__name__)

IDLE = "IDLE"
LISTENING = "LISTENING"
CHOOSING_SERVICE = "CHOOSING_SERVICE"
ASKING_BOOKING_CODE = "ASKING_BOOKING_CODE"
ASKING_RECEIPT_CODE = "ASKING_RECEIPT_CODE"
ASKING_RATING = "ASKING_RATING"
ASKING_COMMENT = "ASKING_COMMENT"
ASKING_PROCEDURE = "ASKING_PROCEDURE"
OFFERING_TICKET = "OFFERING_TICKET"

# Request kind -> the state shown while it is outstanding.
BUSY_STATES = {
    "ticket": "ISSUING_TICKET",
    "check_in": "CHECKING_IN",
    "print": "PRINTING",
    "status": "LOOKING_UP",
    "feedback": "SUBMITTING_FEEDBACK",
    "dispense": "DISPENSING",
}
MAIN_OPTIONS = (
    "queue_number",
    "check_in",
    "procedure",
    "application_status",
    "water",
    "candy",
    "feedback",
    "priority",
    "staff",
    "help",
)
# Intents that answer a question of the current state rather than start something new.
SESSION_INTENTS = frozenset(MAIN_OPTIONS) | {"repeat", "goodbye", "thanks", "hello"}
ITEMS = ("water", "candy")
MAX_RATING = 5
GREETED_MEMORY = 500  # visitor ids remembered so a visitor is greeted once

# Dispenser error code -> phrase.
DISPENSE_PHRASES = {
    "EMPTY": "dispense_empty",
    "JAM": "dispense_jammed",
    "MOTOR_TIMEOUT": "dispense_jammed",
    "DOOR_OPEN": "dispense_door",
    "LIMIT_REACHED": "dispense_limit",
    "ALREADY_SERVED": "dispense_limit",
}


@dataclass
class _Request:
    kind: str
    item: str = ""
    count: int = 0
    code: str = ""
    ticket: TicketInfo | None = None


@dataclass
class _Session:
    visitor_id: str
    language: str
    last_activity_s: float
    state: str = LISTENING
    misunderstandings: int = 0
    last_sentence: str = ""
    priority: bool = False
    procedure: str | None = None  # the procedure being talked about
    aspect: str | None = None  # asked before the procedure was named
    offer_service: str | None = None
    rating: int = 0
    ticket: TicketInfo | None = None
    ticket_printed: bool = True
    pending: dict[str, _Request] = field(default_factory=dict)


class _Turn:
    """What the robot does in answer to one event: sentences (spoken as one), acts, calls."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.effects: list[Effect] = []
        self.acts: list[Act] = []
        self.stop_speaking = False
        # Who the sentences are for and in which language, fixed when they are said: a
        # goodbye still belongs to the visitor whose session it ends.
        self.visitor = ""
        self.language = ""


class DialogueManager:
    def __init__(
        self,
        config: DialogueConfig,
        clock: Callable[[], float],
        new_id: Callable[[], str] | None = None,
        interpreter: Interpreter | None = None,
    ) -> None:
        self._config = config
        self._phrases = config.phrases
        self._settings = config.settings
        self._clock = clock
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        self._nlu = interpreter or Interpreter(config)
        self._service_order = tuple(config.services)
        self._anonymous = itertools.count(1)
        self._session: _Session | None = None
        self._greeted: deque[str] = deque(maxlen=GREETED_MEMORY)
        self._greeting_paused = False
        self._speaking_topic = False
        self._saying: set[str] = set()
        self._last_action = ""
        self._last_sentence = ""
        self._pending_effects: list[Effect] = []
        self._published: DialogueSnapshot | None = None

    # -- public -------------------------------------------------------------------------

    @property
    def snapshot(self) -> DialogueSnapshot:
        session = self._session
        if session is None:
            return DialogueSnapshot(
                state=IDLE,
                visitor_id="",
                language=self._settings.default_language,
                last_robot_sentence="",
                last_action=self._last_action,
                ticket_number="",
                ticket_not_printed=False,
                greeting_paused=self._greeting_paused,
                options=MAIN_OPTIONS,
            )
        state = session.state
        if session.pending:
            state = BUSY_STATES[next(iter(session.pending.values())).kind]
        return DialogueSnapshot(
            state=state,
            visitor_id=session.visitor_id,
            language=session.language,
            last_robot_sentence=session.last_sentence,
            last_action=self._last_action,
            ticket_number=session.ticket.number if session.ticket else "",
            ticket_not_printed=session.ticket is not None and not session.ticket_printed,
            greeting_paused=self._greeting_paused,
            options=self._options(session),
        )

    @property
    def speaking(self) -> bool:
        return self._speaking_topic or bool(self._saying)

    def handle(self, event: Event) -> list[Effect]:
        """Apply one event; return what to do, in order."""
        turn = _Turn()
        handler = getattr(self, f"_on_{type(event).__name__}")
        handler(event, turn)
        return self._finish(turn)

    # -- events -------------------------------------------------------------------------

    def _on_VisitorEngaged(self, event: VisitorEngaged, turn: _Turn) -> None:  # noqa: N802
        session = self._session
        if session is not None:
            if session.visitor_id.startswith("anonymous-"):
                session.visitor_id = event.visitor_id  # the person typing is the one the camera sees
                self._greeted.append(event.visitor_id)
            else:
                logger.info("%s engaged while serving %s: not greeted", event.visitor_id, session.visitor_id)
            return
        if self._greeting_paused:
            self._last_action = f"greeting paused: {event.visitor_id} not greeted"
            return
        session = self._start(event.visitor_id)
        if event.visitor_id in self._greeted:
            self._last_action = f"visitor {event.visitor_id} back"
            return
        self._greeted.append(event.visitor_id)
        self._say(turn, "greeting")
        self._last_action = f"greeted {event.visitor_id}"

    def _on_VisitorLeft(self, event: VisitorLeft, turn: _Turn) -> None:  # noqa: N802
        session = self._session
        if session is None or session.visitor_id != event.visitor_id:
            return
        self._say(turn, "goodbye")
        self._end(f"visitor {event.visitor_id} left")

    def _on_Heard(self, event: Heard, turn: _Turn) -> None:  # noqa: N802
        if not event.text.strip() and not event.intent:
            return
        session = self._session or self._start(f"anonymous-{next(self._anonymous)}")
        if self.speaking:
            # Barge-in: the visitor talks over the robot; stop and answer the new words.
            turn.stop_speaking = True
            self._saying.clear()
        session.last_activity_s = self._clock()
        understanding = self._touch(event) if event.intent else self._nlu.understand(event.text)
        if understanding.language is not None:
            session.language = understanding.language
        elif event.language in LANGUAGES:
            session.language = event.language
        if not self._answer_state(session, understanding, turn):
            self._dispatch(session, understanding, turn)

    def _on_SpeakingChanged(self, event: SpeakingChanged, turn: _Turn) -> None:  # noqa: N802
        self._speaking_topic = event.speaking

    def _on_SayFinished(self, event: SayFinished, turn: _Turn) -> None:  # noqa: N802
        self._saying.discard(event.request_id)
        if self._session is not None:
            self._session.last_activity_s = self._clock()
        if not event.ok and event.error_code not in ("CANCELED", "PREEMPTED"):
            self._last_action = f"speech failed: {event.error_code}"

    def _on_GreetingPaused(self, event: GreetingPaused, turn: _Turn) -> None:  # noqa: N802
        self._greeting_paused = event.paused
        self._last_action = "greeting paused" if event.paused else "greeting resumed"

    def _on_Tick(self, event: Tick, turn: _Turn) -> None:  # noqa: N802
        session = self._session
        if session is None or session.pending or self.speaking:
            return
        if self._clock() - session.last_activity_s >= self._settings.idle_timeout_s:
            self._say(turn, "idle_goodbye")
            self._end(f"visitor {session.visitor_id} idle")

    def _on_TicketResult(self, event: TicketResult, turn: _Turn) -> None:  # noqa: N802
        session, request = self._result(event.request_id)
        if session is None or request is None:
            return
        if event.ok and event.ticket is not None:
            session.ticket, session.ticket_printed = event.ticket, True
            self._request(session, "print", PrintTicket(self._new_id(), event.ticket), ticket=event.ticket)
            self._last_action = f"ticket {event.ticket.number} issued"
            return
        code = event.error_code or "UNKNOWN_ERROR"
        if request.kind == "check_in" and code == "UNKNOWN_CODE":
            key = "booking_unknown"
            session.state = ASKING_BOOKING_CODE  # a misread code: let the visitor try again
        elif request.kind == "check_in" and code == "BOOKING_NOT_TODAY":
            key = "booking_not_today"
        elif request.kind == "check_in" and code == "ALREADY_CHECKED_IN":
            key = "booking_already"
        elif code == "SERVER_UNREACHABLE":
            key = "server_unreachable"
        elif code == "LIMIT_REACHED":
            key = "limit_reached"
        elif code == "UNKNOWN_SERVICE":
            key = "unknown_service"
        else:
            key = "ticket_failed"
        text = self._say(turn, key, code=self._spell(request.code, session.language))
        if key == "unknown_service":
            self._ask_service(session, turn)
        turn.acts.append(Act("error", session.visitor_id, text=text, language=session.language, code=code))
        self._last_action = f"{request.kind} failed: {code}"

    def _on_PrintResult(self, event: PrintResult, turn: _Turn) -> None:  # noqa: N802
        session, request = self._result(event.request_id)
        if session is None or request is None or request.ticket is None:
            return
        ticket, language = request.ticket, session.language
        number = self._spell(ticket.number, language)
        if event.ok:
            self._say(turn, "ticket_number", number=number)
        else:
            session.ticket_printed = False
            key = "paper_out" if event.error_code == "PAPER_OUT" else "printer_failed"
            self._say(turn, key, number=number)
        if ticket.people_ahead:
            self._say(turn, "ticket_ahead", people_ahead=ticket.people_ahead, wait=ticket.estimated_wait_min)
        else:
            self._say(turn, "ticket_next")
        if ticket.counters:
            self._say(turn, "ticket_counters", counters=self._join_or(ticket.counters, language))
        if ticket.priority:
            self._say(turn, "ticket_priority")
        if event.ok:
            self._say(turn, "ticket_take")
        turn.acts.append(
            Act(
                "ticket",
                session.visitor_id,
                language=language,
                ticket_number=ticket.number,
                service_code=ticket.service_code,
                people_ahead=ticket.people_ahead,
                printed=event.ok,
            )
        )
        if event.ok:
            self._last_action = f"ticket {ticket.number} printed"
        else:
            code = event.error_code or "PRINT_FAILED"
            kept = " kept for reprint" if event.kept_for_reprint else ""
            turn.acts.append(
                Act("error", session.visitor_id, text=turn.sentences[0], language=language, code=code)
            )
            self._last_action = f"ticket {ticket.number} not printed ({code}){kept}"
        session.priority = False

    def _on_DispenseResult(self, event: DispenseResult, turn: _Turn) -> None:  # noqa: N802
        session, request = self._result(event.request_id)
        if session is None or request is None:
            return
        item = self._phrases.item(request.item, session.language)
        code = "" if event.ok else (event.error_code or "UNKNOWN_ERROR")
        if event.ok:
            self._say(turn, "dispense_done", item=item)
        elif code == "CANCELED":
            pass  # cancelled on purpose (the visitor left): nothing to explain
        elif event.dispensed:
            self._say(turn, "dispense_partial", item=item, dispensed=event.dispensed, count=request.count)
        else:
            self._say(turn, DISPENSE_PHRASES.get(code, "dispense_offline"), item=item)
        turn.acts.append(
            Act(
                "dispense",
                session.visitor_id,
                language=session.language,
                item=request.item,
                count=event.dispensed if not event.ok else request.count,
                ok=event.ok,
                code=code,
            )
        )
        outcome = "dispensed" if event.ok else f"dispense failed ({code}):"
        self._last_action = f"{outcome} {request.item} x{event.dispensed or request.count}"

    def _on_StatusResult(self, event: StatusResult, turn: _Turn) -> None:  # noqa: N802
        session, request = self._result(event.request_id)
        if session is None or request is None:
            return
        language = session.language
        code = self._spell(request.code, language)
        if event.ok:
            key = f"status_{event.status}"
            if not self._phrases.has(key):
                key = "status_other"
            self._say(
                turn,
                key,
                code=code,
                procedure=event.procedure_name.get(language, ""),
                due_date=self._date(event.due_date, language),
                status=event.status,
            )
            if event.overdue:
                self._say(turn, "status_overdue")
            self._say(turn, "status_where")
            self._last_action = f"application {request.code}: {event.status}"
            return
        error = event.error_code or "UNKNOWN_ERROR"
        if error == "UNKNOWN_CODE":
            text = self._say(turn, "status_unknown", code=code)
            session.state = ASKING_RECEIPT_CODE
        else:
            text = self._say(turn, "server_unreachable")
        turn.acts.append(Act("error", session.visitor_id, text=text, language=language, code=error))
        self._last_action = f"status lookup failed: {error}"

    def _on_FeedbackResult(self, event: FeedbackResult, turn: _Turn) -> None:  # noqa: N802
        session, request = self._result(event.request_id)
        if session is None or request is None:
            return
        if event.ok:
            self._say(turn, "feedback_thanks")
            self._last_action = "feedback queued" if event.queued else "feedback sent"
            return
        code = event.error_code or "UNKNOWN_ERROR"
        text = self._say(turn, "feedback_failed")
        turn.acts.append(Act("error", session.visitor_id, text=text, language=session.language, code=code))
        self._last_action = f"feedback failed: {code}"

    # -- conversation -------------------------------------------------------------------

    def _answer_state(self, session: _Session, u: Understanding, turn: _Turn) -> bool:
        """Let the current question take the words first; False: treat them as a new request."""
        state = session.state
        strong = u.intent is not None and u.intent not in ("hello", "thanks", "help", "procedure")
        if state == ASKING_COMMENT:
            if u.touch and u.intent not in (None, "feedback"):
                # A tapped button is a new request, not the comment: the rating goes without one.
                self._submit_feedback(session, "", turn)
                return False
            # Anything said is a comment ("the staff were kind" names staff, it is no request).
            comment = "" if u.answer == "deny" else u.text.strip()
            self._submit_feedback(session, comment, turn)
            return True
        if state == CHOOSING_SERVICE:
            service = u.service
            if service is None and u.number is not None and 1 <= u.number <= len(self._service_order):
                service = self._service_order[u.number - 1]
            if u.intent == "priority":
                return False
            if u.procedure and self._config.procedures[u.procedure].route:
                return False
            if service is not None:
                self._understood(session)
                self._issue(session, service, turn)
                return True
            if strong and u.intent != "queue_number":
                return False
            self._not_understood(session, turn, again=lambda: self._ask_service(session, turn))
            return True
        if state in (ASKING_BOOKING_CODE, ASKING_RECEIPT_CODE):
            wanted = "check_in" if state == ASKING_BOOKING_CODE else "application_status"
            # The robot asked for a code: unknown words are the code ("HS 2024 000123").
            code = self._nlu.code(u.text, loose=True) if not strong or u.intent == wanted else None
            if code is not None:
                self._understood(session)
                if state == ASKING_BOOKING_CODE:
                    self._check_in(session, code, turn)
                else:
                    self._look_up(session, code, turn)
                return True
            if strong and u.intent != wanted:
                return False
            key = "ask_booking_code" if state == ASKING_BOOKING_CODE else "ask_receipt_code"
            self._not_understood(session, turn, again=lambda: self._say(turn, key))
            return True
        if state == ASKING_RATING:
            rating = u.rating or u.number
            if rating is not None and 1 <= rating <= MAX_RATING:
                self._understood(session)
                session.rating = rating
                session.state = ASKING_COMMENT
                self._say(turn, "ask_comment")
                return True
            if strong and u.intent != "feedback":
                return False
            self._not_understood(session, turn, again=lambda: self._say(turn, "ask_rating"))
            return True
        if state == ASKING_PROCEDURE:
            if u.procedure is not None:
                self._understood(session)
                self._answer_procedure(session, u.procedure, u.aspect or session.aspect, turn)
                return True
            if strong:
                return False
            self._not_understood(session, turn, again=lambda: self._ask_procedure(session, turn))
            return True
        if state == OFFERING_TICKET and session.offer_service is not None:
            wants_number = u.intent == "queue_number" and u.service is None
            if u.answer is None and not wants_number:
                return False
            self._understood(session)
            if u.answer == "affirm" or wants_number:
                self._issue(session, session.offer_service, turn)
            else:
                session.state = LISTENING
                self._say(turn, "ok_then")
            session.offer_service = None
            return True
        return False

    def _dispatch(self, session: _Session, u: Understanding, turn: _Turn) -> None:
        intent = u.intent
        if intent is None:
            self._not_understood(session, turn, again=None)
            return
        self._understood(session)
        session.state = LISTENING
        session.offer_service = None
        if intent in ("queue_number", "priority"):
            if intent == "priority" or "priority" in u.also:
                session.priority = True
                if intent == "priority":
                    self._say(turn, "priority_info")
            if u.procedure is not None and self._config.procedures[u.procedure].route:
                self._route_to_police(session, self._config.procedures[u.procedure], turn)
            elif u.service is not None:
                self._issue(session, u.service, turn)
            else:
                self._ask_service(session, turn)
        elif intent == "check_in":
            if u.code:
                self._check_in(session, u.code, turn)
            else:
                session.state = ASKING_BOOKING_CODE
                self._say(turn, "ask_booking_code")
        elif intent == "application_status":
            code = u.code
            if code:
                self._look_up(session, code, turn)
            else:
                session.state = ASKING_RECEIPT_CODE
                self._say(turn, "ask_receipt_code")
        elif intent in ITEMS:
            for item in ITEMS:
                if item == intent or item in u.also:
                    self._dispense(session, item, u.count or 1, turn)
        elif intent == "procedure":
            procedure = u.procedure or session.procedure
            if procedure is None:
                session.aspect = u.aspect
                self._ask_procedure(session, turn)
            else:
                self._answer_procedure(session, procedure, u.aspect, turn)
        elif intent == "feedback":
            rating = u.rating or u.number
            if rating is not None and 1 <= rating <= MAX_RATING:
                session.rating = rating
                session.state = ASKING_COMMENT
                self._say(turn, "ask_comment")
            else:
                session.state = ASKING_RATING
                self._say(turn, "ask_rating")
        elif intent == "repeat":
            if session.last_sentence:
                self._add(turn, session.last_sentence)
            else:
                self._say(turn, "menu")
        elif intent == "help":
            self._say(turn, "menu")
        elif intent == "hello":
            self._say(turn, "hello_reply")
        elif intent == "thanks":
            self._say(turn, "thanks_reply")
        elif intent == "staff":
            self._say(turn, "staff")
            self._last_action = "staff requested"
        elif intent == "goodbye":
            self._say(turn, "goodbye")
            self._end(f"visitor {session.visitor_id} said goodbye")
        else:
            logger.warning("no handler for intent %r", intent)
            self._not_understood(session, turn, again=None)

    def _understood(self, session: _Session) -> None:
        session.misunderstandings = 0

    def _not_understood(self, session: _Session, turn: _Turn, again: Callable[[], object] | None) -> None:
        """Clarify once, then offer the menu (or the question's choices), then a staff member."""
        session.misunderstandings += 1
        count = session.misunderstandings
        if count >= 3:
            self._say(turn, "suggest_staff")
            session.state = LISTENING
            self._last_action = "not understood 3 times: staff suggested"
            return
        if count == 1:
            self._say(turn, "clarify")
        elif again is None:
            self._say(turn, "menu")
        if count == 2 and again is not None:
            again()
        self._last_action = f"not understood ({count})"

    # -- actions ------------------------------------------------------------------------

    def _ask_service(self, session: _Session, turn: _Turn) -> None:
        language = session.language
        options = self._phrases.word("list_separator", language).join(
            self._phrases.text("service_option", language, index=i, name=service.name[language])
            for i, service in enumerate(self._config.services.values(), start=1)
        )
        session.state = CHOOSING_SERVICE
        self._say(turn, "ask_service", options=options)
        if not session.priority:
            self._say(turn, "priority_offer")

    def _ask_procedure(self, session: _Session, turn: _Turn) -> None:
        language = session.language
        examples = self._phrases.word("list_separator", language).join(
            p.name[language] for p in self._config.procedures.values()
        )
        session.state = ASKING_PROCEDURE
        self._say(turn, "ask_procedure", examples=examples)

    def _issue(self, session: _Session, service: str, turn: _Turn) -> None:
        if self._busy(session, "ticket", turn):
            return
        session.state = LISTENING
        self._request(
            session, "ticket", IssueTicket(self._new_id(), service, session.priority, session.language)
        )
        self._last_action = f"issuing ticket for {service}"

    def _check_in(self, session: _Session, code: str, turn: _Turn) -> None:
        if self._busy(session, "check_in", turn):
            return
        session.state = LISTENING
        self._request(session, "check_in", CheckInBooking(self._new_id(), code, session.language), code=code)
        self._last_action = f"checking in booking {code}"

    def _look_up(self, session: _Session, code: str, turn: _Turn) -> None:
        if self._busy(session, "status", turn):
            return
        session.state = LISTENING
        self._request(session, "status", LookUpApplication(self._new_id(), code), code=code)
        self._last_action = f"looking up application {code}"

    def _submit_feedback(self, session: _Session, comment: str, turn: _Turn) -> None:
        session.state = LISTENING
        service = session.ticket.service_code if session.ticket else ""
        effect = SubmitFeedback(self._new_id(), session.rating, comment, service, session.language)
        self._request(session, "feedback", effect)
        self._last_action = f"submitting feedback {session.rating}/5"

    def _dispense(self, session: _Session, item: str, count: int, turn: _Turn) -> None:
        if any(r.kind == "dispense" and r.item == item for r in session.pending.values()):
            self._say(turn, "busy")
            return
        name = self._phrases.item(item, session.language)
        most = self._settings.max_items_per_request.get(item, 1)
        if count > most:
            self._say(turn, "dispense_too_many", max_count=most, item=name)
            count = most
        self._say(turn, "dispense_start", item=name)
        effect = Dispense(self._new_id(), item, count, session.visitor_id)
        self._request(session, "dispense", effect, item=item, count=count)
        self._last_action = f"dispensing {item} x{count}"

    def _answer_procedure(self, session: _Session, pid: str, aspect: str | None, turn: _Turn) -> None:
        procedure = self._config.procedures[pid]
        language = session.language
        session.procedure, session.aspect, session.state = pid, None, LISTENING
        if aspect is None:
            self._say_fact(session, procedure, "where", turn)
            if procedure.service is not None:
                self._say_where_here(session, procedure.service, turn)
            self._say(turn, "procedure_topics")
            if procedure.service is not None:
                session.offer_service = procedure.service
                session.state = OFFERING_TICKET
                service = self._config.services[procedure.service]
                self._say(turn, "offer_ticket", service=service.name[language])
        else:
            self._say_fact(session, procedure, aspect, turn)
            if aspect == "where" and procedure.service is not None:
                self._say_where_here(session, procedure.service, turn)
        self._last_action = f"answered {pid}/{aspect or 'summary'}"

    def _say_fact(self, session: _Session, procedure: Procedure, aspect: str, turn: _Turn) -> None:
        fact = procedure.facts[aspect]
        language = session.language
        text = fact.text[language]
        if aspect == "fee":
            # A fee is never spoken without the date it was checked: fees change.
            year, month = fact.checked.split("-")
            checked = self._phrases.word("checked_month", language).format(month=int(month), year=year)
            text = self._phrases.text("fee_checked", language, checked=checked, text=text)
        self._add(turn, text)
        if not fact.certain:
            self._say(turn, "confirm_at_counter")

    def _say_where_here(self, session: _Session, service_code: str, turn: _Turn) -> None:
        service = self._config.services[service_code]
        language = session.language
        counters = self._join_or(service.counters, language)
        self._say(turn, "where_here", service=service.name[language], counters=counters)

    def _route_to_police(self, session: _Session, procedure: Procedure, turn: _Turn) -> None:
        session.procedure = procedure.id
        self._say(turn, "police_route", name=procedure.name[session.language])
        self._say_fact(session, procedure, "where", turn)
        self._last_action = f"routed {procedure.id} to {procedure.route}"

    # -- plumbing -----------------------------------------------------------------------

    def _start(self, visitor_id: str) -> _Session:
        self._session = _Session(visitor_id, self._settings.default_language, self._clock())
        return self._session

    def _end(self, why: str) -> None:
        self._session = None
        self._last_action = why
        logger.info("session ended: %s", why)

    def _busy(self, session: _Session, kind: str, turn: _Turn) -> bool:
        if any(r.kind in (kind, "print") for r in session.pending.values()):
            self._say(turn, "busy")
            return True
        return False

    def _request(self, session: _Session, kind: str, effect: Effect, **details: object) -> None:
        session.pending[effect.request_id] = _Request(kind, **details)
        self._pending_effects.append(effect)

    def _result(self, request_id: str) -> tuple[_Session | None, _Request | None]:
        session = self._session
        if session is None or request_id not in session.pending:
            logger.info("result for request %s that nobody waits for: ignored", request_id)
            return None, None
        session.last_activity_s = self._clock()
        return session, session.pending.pop(request_id)

    def _say(self, turn: _Turn, key: str, **fields: object) -> str:
        session = self._session
        language = session.language if session else self._settings.default_language
        fields.setdefault("counter", self._settings.fallback_counter)
        return self._add(turn, self._phrases.text(key, language, **fields))

    def _add(self, turn: _Turn, text: str) -> str:
        session = self._session
        turn.sentences.append(text)
        turn.language = session.language if session else self._settings.default_language
        turn.visitor = session.visitor_id if session else turn.visitor
        return text

    def _spell(self, code: str, language: str) -> str:
        return read_code(
            code,
            self._phrases.word("digits", language),
            self._phrases.word("letters", language),
            self._phrases.word("code_separator", language),
        )

    def _join_or(self, values: tuple[str, ...], language: str) -> str:
        return self._phrases.word("or", language).join(values)

    def _date(self, iso: str, language: str) -> str:
        year, _, rest = iso.partition("-")
        month, _, day = rest.partition("-")
        if not (year.isdigit() and month.isdigit() and day[:2].isdigit()):
            return iso
        return self._phrases.word("date", language).format(day=int(day[:2]), month=int(month), year=year)

    def _touch(self, event: Heard) -> Understanding:
        """Touch input names its intent; the argument is the service, code, score or item count."""
        intent, argument = event.intent, event.argument.strip()
        language = event.language if event.language in LANGUAGES else None
        if intent in ("affirm", "deny"):
            return Understanding(text=event.text, answer=intent, language=language, touch=True)
        if intent not in SESSION_INTENTS:
            logger.warning("touch input with unknown intent %r", intent)
            return Understanding(text=event.text, language=language, touch=True)
        service = argument if argument in self._config.services else None
        procedure, _, aspect = argument.partition("/")
        number = int(argument) if argument.isdigit() else None
        return Understanding(
            text=event.text or argument,
            intent=intent,
            also=frozenset({intent}),
            language=language,
            service=service,
            procedure=procedure if procedure in self._config.procedures else None,
            aspect=aspect if aspect in ASPECTS else None,
            number=number,
            count=number if intent in ITEMS else None,
            code=argument if intent in ("check_in", "application_status") and argument else None,
            touch=True,
        )

    def _options(self, session: _Session) -> tuple[str, ...]:
        state = session.state
        if state == CHOOSING_SERVICE:
            return (*(f"queue_number:{code}" for code in self._service_order), "priority", "staff")
        if state == OFFERING_TICKET:
            return ("affirm", "deny")
        if state == ASKING_RATING:
            return tuple(f"feedback:{i}" for i in range(1, MAX_RATING + 1))
        if state == ASKING_COMMENT:
            return ("deny",)
        if state == ASKING_PROCEDURE:
            return tuple(f"procedure:{pid}" for pid in self._config.procedures)
        if state in (ASKING_BOOKING_CODE, ASKING_RECEIPT_CODE):
            return ("staff", "help")
        return MAIN_OPTIONS

    def _finish(self, turn: _Turn) -> list[Effect]:
        effects: list[Effect] = []
        if turn.stop_speaking:
            effects.append(StopSpeaking())
            self._last_action = "barge-in: stopped speaking"
        if turn.sentences:
            text = " ".join(turn.sentences)
            say = Say(self._new_id(), text, turn.language)
            self._saying.add(say.request_id)
            effects.append(say)
            turn.acts.insert(0, Act("say", turn.visitor, text=text, language=turn.language))
            if self._session is not None:
                self._session.last_sentence = text
            self._last_sentence = text
        effects.extend(self._pending_effects)
        self._pending_effects.clear()
        effects.extend(PublishAct(act) for act in turn.acts)
        snapshot = self.snapshot
        if turn.sentences and self._session is None:
            # The goodbye is the last thing said to the visitor who just left.
            snapshot = DialogueSnapshot(**{**snapshot.__dict__, "last_robot_sentence": self._last_sentence})
        if snapshot != self._published:
            self._published = snapshot
            effects.append(PublishState(snapshot))
        return effects
