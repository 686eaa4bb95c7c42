"""Visitor taps -> dialogue intents: the screen's only way into the dialogue.

A tap arrives as JSON `{"intent", "argument", "language"}`; `parse_visitor_intent` checks
it against the catalogue (known service codes and procedure ids) and the argument rules
below, and returns a `VisitorIntent` the node publishes as an Utterance (source "screen").
Only the intents listed here can be sent: staff actions are not intents and cannot be
reached from the visitor screen. Pure functions, no threading concerns.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from service_desk_robot.robot.screen import InvalidIntentError

LANGUAGES = ("vi", "en")
# Booking codes (city app) and receipt codes: letters, digits and dashes.
CODE_PATTERN = re.compile(r"^[A-Z0-9-]{3,32}$")
FEEDBACK_COMMENT_MAX_CHARS = 300
# The dialogue state that asks for the feedback comment (robot/dialogue/manager.py).
COMMENT_STATE = "ASKING_COMMENT"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")

# Intent name -> kind of argument it takes. The names are the dialogue's
# (config/intents.yaml, robot/dialogue/manager.py): the main needs, then answers and
# requests the dialogue offers in DialogueState.options.
INTENT_ARGUMENTS = {
    "queue_number": "service",
    "water": "none",
    "candy": "none",
    "procedure": "procedure",
    "check_in": "code",
    "application_status": "code",
    "feedback": "feedback",
    "staff": "none",
    "priority": "none",
    "help": "none",
    "repeat": "none",
    "goodbye": "none",
    "hello": "none",
    "thanks": "none",
    "affirm": "none",
    "deny": "none",
}


@dataclass(frozen=True)
class Catalog:
    """What a visitor may pick: service codes and procedure ids."""

    service_codes: frozenset[str]
    procedure_ids: frozenset[str]


@dataclass(frozen=True)
class VisitorIntent:
    intent: str
    argument: str
    language: str


@dataclass(frozen=True)
class ScreenUtterance:
    """One Utterance to publish; `intent` "" means free text the dialogue must read.
    `after_state`: publish only once the dialogue is in this state (it asked for it)."""

    intent: str
    argument: str
    text: str
    language: str
    after_state: str = ""


def utterances_for(intent: VisitorIntent, phrases: Mapping[str, str]) -> list[ScreenUtterance]:
    """The Utterances one tap becomes, in order; `phrases` are the labels' `intents`
    (what the tap means in words, for transcripts).

    The dialogue asks for a feedback comment after the rating, so a feedback tap is the
    rating (the "feedback" intent with the score) followed by the comment as free text,
    or by "deny" when the visitor left it empty: the same turns a speaking visitor takes.
    The comment waits for the dialogue's question, so it cannot overtake the rating.
    """
    text = phrases.get(intent.intent, intent.intent)
    if intent.intent != "feedback":
        return [ScreenUtterance(intent.intent, intent.argument, text, intent.language)]
    rating, _, comment = intent.argument.partition("|")
    follow_up = (
        ScreenUtterance("", "", comment, intent.language, COMMENT_STATE)
        if comment
        else ScreenUtterance("deny", "", phrases.get("deny", "deny"), intent.language, COMMENT_STATE)
    )
    return [ScreenUtterance("feedback", rating, text, intent.language), follow_up]


def parse_visitor_intent(payload: object, catalog: Catalog) -> VisitorIntent:
    """Validate one tap; raise InvalidIntentError with a stable code when it is wrong."""
    if not isinstance(payload, Mapping):
        raise InvalidIntentError("BAD_REQUEST", "expected a JSON object")
    intent = payload.get("intent")
    argument = payload.get("argument", "")
    language = payload.get("language", "vi")
    if not isinstance(intent, str) or intent not in INTENT_ARGUMENTS:
        raise InvalidIntentError("UNKNOWN_INTENT", f"unknown intent {intent!r}")
    if not isinstance(argument, str):
        raise InvalidIntentError("BAD_ARGUMENT", "argument must be a string")
    if language not in LANGUAGES:
        raise InvalidIntentError("BAD_LANGUAGE", f"language must be one of {LANGUAGES}")
    kind = INTENT_ARGUMENTS[intent]
    return VisitorIntent(intent, _check_argument(kind, argument.strip(), catalog), language)


def _check_argument(kind: str, argument: str, catalog: Catalog) -> str:
    if kind == "none":
        if argument:
            raise InvalidIntentError("BAD_ARGUMENT", "this intent takes no argument")
        return ""
    if kind == "service":
        if argument not in catalog.service_codes:
            raise InvalidIntentError("UNKNOWN_SERVICE", f"unknown service {argument!r}")
        return argument
    if kind == "procedure":
        if argument not in catalog.procedure_ids:
            raise InvalidIntentError("UNKNOWN_PROCEDURE", f"unknown procedure {argument!r}")
        return argument
    if kind == "code":
        code = argument.upper()
        if not CODE_PATTERN.match(code):
            raise InvalidIntentError("BAD_CODE", "a code is 3-32 letters, digits or dashes")
        return code
    # feedback: "rating|comment", the rating 1-5, the comment optional.
    rating, _, comment = argument.partition("|")
    if rating not in ("1", "2", "3", "4", "5"):
        raise InvalidIntentError("INVALID_RATING", "the rating is a whole number from 1 to 5")
    comment = _CONTROL_CHARS.sub(" ", comment).strip()
    if len(comment) > FEEDBACK_COMMENT_MAX_CHARS:
        raise InvalidIntentError("COMMENT_TOO_LONG", f"at most {FEEDBACK_COMMENT_MAX_CHARS} characters")
    return f"{rating}|{comment}"
