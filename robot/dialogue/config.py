"""The dialogue's configuration: phrases, intents, procedures and services, loaded and checked.

Everything a visitor hears or may say lives in YAML (config/phrases.yaml, intents.yaml,
procedures.yaml, services.yaml); this module turns those files into frozen objects and
fails at load time, naming file and key, when something is missing: a sentence without
its English, a fact without a source or check date, a procedure without an answer for
one of the five questions. Loaded once, then read-only (safe to share across threads).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from service_desk_robot.robot import catalogue
from service_desk_robot.robot.dialogue.errors import DialogueConfigError

LANGUAGES = ("vi", "en")
ASPECTS = ("where", "documents", "fee", "processing_time", "online")
CONFIDENCE_MARKS = ("V", "I", "U")
ROUTES = ("ward_police", "traffic_police")


@dataclass(frozen=True)
class Fact:
    """One answer about a procedure, with its provenance."""

    text: Mapping[str, str]  # language -> sentence
    confidence: str  # V (source states it), I (inferred / maybe outdated), U (unverified)
    sources: tuple[str, ...]
    checked: str  # "YYYY-MM"

    @property
    def certain(self) -> bool:
        return self.confidence == "V"


@dataclass(frozen=True)
class Procedure:
    id: str
    name: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    facts: Mapping[str, Fact]  # aspect -> fact
    service: str | None = None  # one-stop service code, for a queue number
    route: str | None = None  # "ward_police" / "traffic_police": not done at this office


@dataclass(frozen=True)
class Service:
    """A catalogue service as the dialogue speaks of it: names keyed by language."""

    code: str
    letter: str
    name: Mapping[str, str]
    counters: tuple[str, ...]

    @classmethod
    def of(cls, service: catalogue.Service) -> Service:
        return cls(
            code=service.code,
            letter=service.letter,
            name={language: service.name(language) for language in LANGUAGES},
            counters=service.counters,
        )


@dataclass(frozen=True)
class IntentTables:
    """Keyword tables of intents.yaml: label -> language -> phrases."""

    intents: Mapping[str, Mapping[str, tuple[str, ...]]]
    services: Mapping[str, Mapping[str, tuple[str, ...]]]
    aspects: Mapping[str, Mapping[str, tuple[str, ...]]]
    answers: Mapping[str, Mapping[str, tuple[str, ...]]]
    ratings: Mapping[str, Mapping[str, int]]
    numbers: Mapping[str, Mapping[str, int]]
    language_hints: Mapping[str, tuple[str, ...]]
    item_units: Mapping[str, tuple[str, ...]]
    fuzzy_min_word_length: int = 4
    fuzzy_cutoff: float = 0.8


class Phrases:
    """The robot's sentences: `phrases.text("greeting", "vi")`, with {placeholders} filled."""

    def __init__(self, sentences: Mapping[str, Mapping[str, str]], words: Mapping[str, Any]) -> None:
        self._sentences = sentences
        self._words = words

    def has(self, key: str) -> bool:
        return key in self._sentences

    def text(self, key: str, language: str, **fields: object) -> str:
        try:
            template = self._sentences[key][language]
        except KeyError as error:
            raise DialogueConfigError(f"phrases.yaml: no sentence {key!r} in {language!r}") from error
        try:
            return template.format(**fields)
        except (KeyError, IndexError) as error:
            raise DialogueConfigError(f"phrases.yaml: {key}.{language} needs field {error}") from error

    def word(self, key: str, language: str) -> Any:
        return self._words[key][language]

    def item(self, item: str, language: str) -> str:
        names = self._words["items"].get(item)
        return names[language] if names else item

    def placeholders(self, key: str, language: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self._sentences[key][language]) if name}


@dataclass(frozen=True)
class DialogueSettings:
    """Behaviour knobs (the node fills them from its ROS parameters)."""

    default_language: str = "vi"
    idle_timeout_s: float = 60.0
    # Most items handed out for one request, per item; match the dispenser's per-visitor
    # limits so a visitor is never promised what the board will refuse.
    max_items_per_request: Mapping[str, int] = field(default_factory=lambda: {"water": 1, "candy": 2})
    fallback_counter: str = "1"


@dataclass(frozen=True)
class DialogueConfig:
    phrases: Phrases
    intents: IntentTables
    procedures: Mapping[str, Procedure]
    services: Mapping[str, Service]  # in catalogue order (the order the robot lists them)
    settings: DialogueSettings = field(default_factory=DialogueSettings)

    @classmethod
    def load(
        cls,
        config_dir: Path,
        *,
        default_language: str = "vi",
        idle_timeout_s: float = 60.0,
        max_items_per_request: Mapping[str, int] | None = None,
    ) -> DialogueConfig:
        """Read the four YAML files of `config_dir`; the fallback counter comes from
        services.yaml (office.fallback_counter)."""
        try:
            ward = catalogue.load_catalogue(config_dir / "services.yaml")
        except catalogue.CatalogueError as error:
            raise DialogueConfigError(str(error)) from error
        services = {code: Service.of(service) for code, service in ward.services.items()}
        if default_language not in LANGUAGES:
            raise DialogueConfigError(f"default_language must be one of {LANGUAGES}: {default_language!r}")
        most = dict(max_items_per_request or DialogueSettings().max_items_per_request)
        if idle_timeout_s <= 0 or any(count < 1 for count in most.values()):
            raise DialogueConfigError("idle_timeout_s must be > 0 and every max_items_per_request >= 1")
        settings = DialogueSettings(
            default_language=default_language,
            idle_timeout_s=idle_timeout_s,
            max_items_per_request=most,
            fallback_counter=ward.office.fallback_counter,
        )
        return cls(
            phrases=_phrases(_read(config_dir / "phrases.yaml")),
            intents=_intents(_read(config_dir / "intents.yaml")),
            procedures=_procedures(_read(config_dir / "procedures.yaml"), services),
            services=services,
            settings=settings,
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DialogueConfigError(f"cannot read {path}: {error}") from error
    except yaml.YAMLError as error:
        raise DialogueConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise DialogueConfigError(f"{path}: expected a mapping at the top level")
    return document


def _get(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise DialogueConfigError(f"{where}: missing {key!r}")
    return mapping[key]


def _bilingual(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise DialogueConfigError(f"{where}: expected vi and en texts")
    texts = {}
    for language in LANGUAGES:
        text = value.get(language)
        if not isinstance(text, str) or not text.strip():
            raise DialogueConfigError(f"{where}: missing {language!r} text")
        texts[language] = text
    return texts


def _word_lists(value: Any, where: str, *, required: bool = True) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise DialogueConfigError(f"{where}: expected lists per language")
    lists = {}
    for language in LANGUAGES:
        words = value.get(language, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DialogueConfigError(f"{where}.{language}: expected a list of words")
        if required and not words:
            raise DialogueConfigError(f"{where}.{language}: empty")
        lists[language] = tuple(words)
    return lists


def _phrases(document: Mapping[str, Any]) -> Phrases:
    sentences = {
        key: _bilingual(value, f"phrases.yaml: phrases.{key}")
        for key, value in _get(document, "phrases", "phrases.yaml").items()
    }
    words = _get(document, "words", "phrases.yaml")
    for key in ("digits", "letters", "code_separator", "list_separator", "or", "checked_month", "date"):
        entry = _get(words, key, "phrases.yaml: words")
        for language in LANGUAGES:
            _get(entry, language, f"phrases.yaml: words.{key}")
    for language in LANGUAGES:
        if len(words["digits"][language]) != 10:
            raise DialogueConfigError(f"phrases.yaml: words.digits.{language} needs the 10 digits")
    for item, names in _get(words, "items", "phrases.yaml: words").items():
        _bilingual(names, f"phrases.yaml: words.items.{item}")
    return Phrases(sentences, words)


def _intents(document: Mapping[str, Any]) -> IntentTables:
    def table(key: str) -> dict[str, dict[str, tuple[str, ...]]]:
        return {
            label: _word_lists(lists, f"intents.yaml: {key}.{label}")
            for label, lists in _get(document, key, "intents.yaml").items()
        }

    def scores(key: str) -> dict[str, dict[str, int]]:
        entry = _get(document, key, "intents.yaml")
        result = {}
        for language in LANGUAGES:
            words = _get(entry, language, f"intents.yaml: {key}")
            if not all(isinstance(v, int) for v in words.values()):
                raise DialogueConfigError(f"intents.yaml: {key}.{language}: values must be integers")
            result[language] = dict(words)
        return result

    answers = table("answers")
    for needed in ("affirm", "deny"):
        _get(answers, needed, "intents.yaml: answers")
    fuzzy = document.get("fuzzy", {})
    return IntentTables(
        intents=table("intents"),
        services=table("services"),
        aspects=table("aspects"),
        answers=answers,
        ratings=scores("ratings"),
        numbers=scores("numbers"),
        language_hints=_word_lists(_get(document, "language_hints", "intents.yaml"), "intents.yaml: hints"),
        item_units=_word_lists(_get(document, "item_units", "intents.yaml"), "intents.yaml: item_units"),
        fuzzy_min_word_length=int(fuzzy.get("min_word_length", 4)),
        fuzzy_cutoff=float(fuzzy.get("cutoff", 0.8)),
    )


def _procedures(document: Mapping[str, Any], services: Mapping[str, Service]) -> dict[str, Procedure]:
    procedures = {}
    for pid, entry in _get(document, "procedures", "procedures.yaml").items():
        where = f"procedures.yaml: {pid}"
        service, route = entry.get("service"), entry.get("route")
        if (service is None) == (route is None):
            raise DialogueConfigError(f"{where}: needs exactly one of 'service' or 'route'")
        if service is not None and service not in services:
            raise DialogueConfigError(f"{where}: service {service!r} is not in services.yaml")
        if route is not None and route not in ROUTES:
            raise DialogueConfigError(f"{where}: route must be one of {ROUTES}")
        facts = {}
        for aspect in ASPECTS:
            fact = _get(_get(entry, "facts", where), aspect, f"{where}.facts")
            fwhere = f"{where}.facts.{aspect}"
            confidence = str(_get(fact, "confidence", fwhere))
            if confidence not in CONFIDENCE_MARKS:
                raise DialogueConfigError(f"{fwhere}: confidence must be one of {CONFIDENCE_MARKS}")
            sources = _get(fact, "sources", fwhere)
            if not isinstance(sources, list) or not sources or not all(str(s).strip() for s in sources):
                raise DialogueConfigError(f"{fwhere}: needs at least one source")
            checked = str(_get(fact, "checked", fwhere))
            year, _, month = checked.partition("-")
            if not (len(year) == 4 and year.isdigit() and month.isdigit() and 1 <= int(month) <= 12):
                raise DialogueConfigError(f"{fwhere}: checked must be YYYY-MM, not {checked!r}")
            facts[aspect] = Fact(_bilingual(fact, fwhere), confidence, tuple(map(str, sources)), checked)
        procedures[pid] = Procedure(
            id=pid,
            name=_bilingual(_get(entry, "name", where), f"{where}.name"),
            keywords=_word_lists(_get(entry, "keywords", where), f"{where}.keywords"),
            facts=facts,
            service=service,
            route=route,
        )
    return procedures
