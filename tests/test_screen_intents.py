"""Visitor taps -> intents, and the screen's configuration (labels vi + en, catalogue)."""

from __future__ import annotations

import re

import pytest
import yaml

from service_desk_robot.robot.screen import InvalidIntentError, ScreenConfigError
from service_desk_robot.robot.screen.app import STATIC_DIR
from service_desk_robot.robot.screen.config import check_labels, load_procedures, load_services
from service_desk_robot.robot.screen.intents import (
    Catalog,
    ScreenUtterance,
    VisitorIntent,
    parse_visitor_intent,
    utterances_for,
)

CATALOG = Catalog(frozenset({"civil_status", "certification"}), frozenset({"birth_registration"}))


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"intent": "queue_number", "argument": "civil_status"},
            VisitorIntent("queue_number", "civil_status", "vi"),
        ),
        ({"intent": "water", "language": "en"}, VisitorIntent("water", "", "en")),
        ({"intent": "check_in", "argument": " bk-7f3a "}, VisitorIntent("check_in", "BK-7F3A", "vi")),
        (
            {"intent": "application_status", "argument": "123456"},
            VisitorIntent("application_status", "123456", "vi"),
        ),
        (
            {"intent": "procedure", "argument": "birth_registration"},
            VisitorIntent("procedure", "birth_registration", "vi"),
        ),
        (
            {"intent": "feedback", "argument": "5|Rất tốt\ncảm ơn"},
            VisitorIntent("feedback", "5|Rất tốt cảm ơn", "vi"),
        ),
        ({"intent": "feedback", "argument": "3|"}, VisitorIntent("feedback", "3|", "vi")),
        ({"intent": "staff"}, VisitorIntent("staff", "", "vi")),
        ({"intent": "affirm", "language": "en"}, VisitorIntent("affirm", "", "en")),
        ({"intent": "hello", "language": "en"}, VisitorIntent("hello", "", "en")),
    ],
)
def test_valid_taps(payload, expected):
    assert parse_visitor_intent(payload, CATALOG) == expected


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ([], "BAD_REQUEST"),
        ({"intent": "reprint"}, "UNKNOWN_INTENT"),  # a staff action is not an intent
        ({"intent": "pause_greeting"}, "UNKNOWN_INTENT"),
        ({}, "UNKNOWN_INTENT"),
        ({"intent": "queue_number", "argument": "passports"}, "UNKNOWN_SERVICE"),
        ({"intent": "procedure", "argument": "x"}, "UNKNOWN_PROCEDURE"),
        ({"intent": "check_in", "argument": "ab"}, "BAD_CODE"),
        ({"intent": "check_in", "argument": "DROP TABLE;"}, "BAD_CODE"),
        ({"intent": "application_status", "argument": "9" * 40}, "BAD_CODE"),
        ({"intent": "feedback", "argument": "6|too good"}, "INVALID_RATING"),
        ({"intent": "feedback", "argument": "|"}, "INVALID_RATING"),
        ({"intent": "feedback", "argument": "4|" + "x" * 301}, "COMMENT_TOO_LONG"),
        ({"intent": "water", "argument": "10"}, "BAD_ARGUMENT"),
        ({"intent": "water", "argument": 3}, "BAD_ARGUMENT"),
        ({"intent": "water", "language": "fr"}, "BAD_LANGUAGE"),
        ({"intent": "language", "argument": "en"}, "UNKNOWN_INTENT"),
        ({"intent": "priority", "argument": "yes"}, "BAD_ARGUMENT"),
    ],
)
def test_invalid_taps_are_refused_with_a_stable_code(payload, code):
    with pytest.raises(InvalidIntentError) as caught:
        parse_visitor_intent(payload, CATALOG)
    assert caught.value.code == code


PHRASES = {"queue_number": "Tôi muốn lấy số", "feedback": "Tôi muốn góp ý", "deny": "Không"}


def test_a_tap_is_one_utterance_with_its_phrase():
    (only,) = utterances_for(VisitorIntent("queue_number", "civil_status", "vi"), PHRASES)
    assert only == ScreenUtterance("queue_number", "civil_status", "Tôi muốn lấy số", "vi")
    (unknown,) = utterances_for(VisitorIntent("thanks", "", "en"), PHRASES)
    assert unknown.text == "thanks"


def test_feedback_is_the_rating_then_the_comment_as_free_text():
    """The dialogue asks for the comment after the rating: the screen answers both turns."""
    rating, comment = utterances_for(VisitorIntent("feedback", "4|Nhanh, cảm ơn", "vi"), PHRASES)
    assert rating == ScreenUtterance("feedback", "4", "Tôi muốn góp ý", "vi")
    assert comment == ScreenUtterance("", "", "Nhanh, cảm ơn", "vi", after_state="ASKING_COMMENT")
    _, no_comment = utterances_for(VisitorIntent("feedback", "2|", "en"), PHRASES)
    assert no_comment == ScreenUtterance("deny", "", "Không", "en", after_state="ASKING_COMMENT")


def screen_labels(repo) -> dict:
    data = yaml.safe_load((repo / "config/screen.yaml").read_text(encoding="utf-8"))
    return data["screen"]["ros__parameters"]["labels"]


def test_shipped_labels_are_complete_in_both_languages(repo):
    labels = check_labels(screen_labels(repo))
    assert labels["vi"]["title"] != labels["en"]["title"]


def test_every_label_the_pages_use_exists(repo):
    """Labels referenced by data-label attributes and S.t("...") calls are all configured."""
    labels = check_labels(screen_labels(repo))
    used = set()
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        used.update(re.findall(r'data-label="([a-z_.]+)"', text))
        used.update(re.findall(r'S\.t\("([a-z_.0-9]+)"', text))
    assert used, "no labels found in the pages"

    def lookup(key: str) -> object:
        node = labels["vi"]
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    missing = sorted(key for key in used if not isinstance(lookup(key), str))
    assert not missing, f"labels used by the pages but not in config/screen.yaml: {missing}"


def test_pages_load_nothing_from_outside(repo):
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"{path.name} loads an external asset"


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"vi": {"a": "x"}}, "missing"),
        ({"vi": {"a": "x", "b": "y"}, "en": {"a": "x"}}, "differ"),
        ({"vi": {"a": {"b": "x"}}, "en": {"a": {"c": "x"}}}, "differ"),
        ({"vi": {"a": ""}, "en": {"a": "x"}}, "non-empty"),
        ({"vi": {"a": 3}, "en": {"a": "x"}}, "non-empty"),
        ("labels", "mapping"),
    ],
)
def test_bad_labels_are_refused(labels, message):
    with pytest.raises(ScreenConfigError, match=message):
        check_labels(labels)


def test_catalogue_from_the_shipped_files(repo):
    services = load_services(repo / "config/services.yaml")
    assert "civil_status" in {s.id for s in services}
    assert all(s.letter for s in services)
    procedures = load_procedures(repo / "config/procedures.yaml")
    assert len(procedures) >= 8
    assert all(p.name_vi and p.name_en for p in procedures)


def test_bad_catalogue_files(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ScreenConfigError, match="cannot read"):
        load_services(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [", encoding="utf-8")
    with pytest.raises(ScreenConfigError):
        load_services(broken)
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("services: [{code: x}]\nprocedures: [{id: p, name_vi: P}]", encoding="utf-8")
    with pytest.raises(ScreenConfigError, match=r"nameless\.yaml: missing 'office'"):
        load_services(nameless)
    unnamed = tmp_path / "unnamed.yaml"
    unnamed.write_text("office: {name_vi: V, name_en: E}\nservices: [{code: x, letter: X}]", encoding="utf-8")
    with pytest.raises(ScreenConfigError, match=r"unnamed.yaml: services\[0\]: missing 'name_vi'"):
        load_services(unnamed)
    with pytest.raises(ScreenConfigError, match="lacks a vi or en name"):
        load_procedures(nameless)
    listed = tmp_path / "listed.yaml"
    listed.write_text("procedures: [{id: p, name_vi: P, name_en: Q}]", encoding="utf-8")
    assert load_procedures(listed)[0].name_en == "Q"
