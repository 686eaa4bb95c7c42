"""A test seat for the dialogue core: feeds events, records effects, answers requests.

Used by tests/test_dialogue_*.py and bench/bench_dialogue.py. Time is a fake clock and
ids are a counter, so conversations are deterministic and need no sleeps.
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

from service_desk_robot.robot.dialogue.config import DialogueConfig
from service_desk_robot.robot.dialogue.manager import DialogueManager
from service_desk_robot.robot.dialogue.messages import (
    Act,
    CheckInBooking,
    Dispense,
    DispenseResult,
    Effect,
    Event,
    FeedbackResult,
    Heard,
    IssueTicket,
    LookUpApplication,
    PrintResult,
    PrintTicket,
    PublishAct,
    PublishState,
    Say,
    SayFinished,
    StatusResult,
    SubmitFeedback,
    TicketInfo,
    TicketResult,
)

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


@functools.cache
def repo_config() -> DialogueConfig:
    """The repository's dialogue configuration, loaded once per test session (read-only)."""
    return DialogueConfig.load(CONFIG_DIR)


class Seat:
    def __init__(self, config: DialogueConfig | None = None, *, finish_speech: bool = True) -> None:
        self.now = 0.0
        ids = itertools.count(1)
        self.config = config or repo_config()
        self.manager = DialogueManager(self.config, clock=lambda: self.now, new_id=lambda: f"r{next(ids)}")
        self.finish_speech = finish_speech
        self.effects: list[Effect] = []  # everything, in order
        self.turn: list[Effect] = []  # the effects of the last event

    # -- driving -------------------------------------------------------------------------

    def send(self, event: Event) -> list[Effect]:
        self.turn = self.manager.handle(event)
        self.effects.extend(self.turn)
        if self.finish_speech:
            for effect in self.turn:
                if isinstance(effect, Say):
                    self.effects.extend(self.manager.handle(SayFinished(effect.request_id, True)))
        return self.turn

    def hear(self, text: str, **fields: str) -> str:
        self.send(Heard(text, **fields))
        return self.said()

    # -- reading -------------------------------------------------------------------------

    def said(self, effects: list[Effect] | None = None) -> str:
        return " ".join(e.text for e in (self.turn if effects is None else effects) if isinstance(e, Say))

    def language(self) -> str:
        return next(e.language for e in self.turn if isinstance(e, Say))

    def acts(self, kind: str | None = None) -> list[Act]:
        return [
            e.act for e in self.turn if isinstance(e, PublishAct) and (kind is None or e.act.kind == kind)
        ]

    def request(self, kind: type) -> Effect | None:
        return next((e for e in self.turn if isinstance(e, kind)), None)

    @property
    def state(self):
        return self.manager.snapshot

    def published_states(self) -> list:
        return [e.snapshot for e in self.effects if isinstance(e, PublishState)]

    # -- answering requests ----------------------------------------------------------------

    def ticket(self, number: str = "A042", *, service: str | None = None, ahead: int = 3, **kw) -> TicketInfo:
        request = self.request(IssueTicket)
        code = service or (request.service_code if request else "civil_status")
        names = self.config.services[code].name
        return TicketInfo(
            number=number,
            service_code=code,
            service_name=dict(names),
            people_ahead=ahead,
            estimated_wait_min=ahead * 8,
            counters=self.config.services[code].counters,
            priority=bool(request and request.priority),
            **kw,
        )

    def answer_ticket(self, ok: bool = True, code: str = "", **ticket_fields) -> str:
        request = self.request(IssueTicket) or self.request(CheckInBooking)
        ticket = self.ticket(**ticket_fields) if ok else None
        self.send(TicketResult(request.request_id, ok, code, ticket))
        return self.said()

    def answer_print(self, ok: bool = True, code: str = "") -> str:
        request = self.request(PrintTicket)
        self.send(PrintResult(request.request_id, ok, code, kept_for_reprint=code == "PAPER_OUT"))
        return self.said()

    def answer_dispense(self, ok: bool = True, code: str = "", dispensed: int | None = None) -> str:
        request = self.request(Dispense)
        out = request.count if dispensed is None else dispensed
        self.send(DispenseResult(request.request_id, ok, code, out))
        return self.said()

    def answer_status(self, ok: bool = True, code: str = "", **fields) -> str:
        request = self.request(LookUpApplication)
        self.send(StatusResult(request.request_id, ok, code, **fields))
        return self.said()

    def answer_feedback(self, ok: bool = True, code: str = "", queued: bool = False) -> str:
        request = self.request(SubmitFeedback)
        self.send(FeedbackResult(request.request_id, ok, queued, code))
        return self.said()
