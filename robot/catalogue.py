"""The ward office catalogue (config/services.yaml): the office and its services, read once.

Owns the one parser of services.yaml. The simulated server, the dialogue, the ticket
printer and the screen all build their views from `Catalogue`, so a file that one of
them accepts is accepted by all, and a bad file fails at start-up with a `CatalogueError`
naming the file and the place ("services.yaml: services[2]: missing 'letter'").
Callers wrap the error into their own subsystem's exception. Everything here is frozen
and safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

# Defaults for the optional office keys, as every reader of the file assumed before.
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_FALLBACK_COUNTER = "1"


class CatalogueError(ValueError):
    """services.yaml is unreadable, not YAML, or breaks the catalogue's schema."""


@dataclass(frozen=True)
class Office:
    name_vi: str
    name_en: str
    timezone: str  # an IANA zone name, checked to exist
    fallback_counter: str  # where a visitor is sent when the server is unreachable

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


@dataclass(frozen=True)
class Service:
    code: str
    letter: str  # the ticket prefix the server numbers with ("A" -> A001)
    name_vi: str
    name_en: str
    counters: tuple[str, ...]
    average_handling_min: float

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


@dataclass(frozen=True)
class Catalogue:
    office: Office
    services: Mapping[str, Service]  # code -> service, in file order (the order visitors see)


def load_catalogue(path: Path) -> Catalogue:
    """Read and check services.yaml; raises CatalogueError naming the file and the place."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(f"cannot read {path}: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path} is not valid YAML: {error}") from error
    return parse_catalogue(data, path.name)


def parse_catalogue(data: Any, source: str = "services.yaml") -> Catalogue:
    """Check an already parsed services.yaml document; `source` names it in errors."""
    if not isinstance(data, Mapping):
        raise CatalogueError(f"{source}: expected a mapping at the top level")
    office = _office(_required(data, "office", Mapping, source), f"{source}: office")
    entries = _required(data, "services", list, source)
    if not entries:
        raise CatalogueError(f"{source}: services: the list is empty")
    services: dict[str, Service] = {}
    letters: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"{source}: services[{index}]"
        service = _service(entry, where)
        if service.code in services:
            raise CatalogueError(f"{where}: duplicate code {service.code!r}")
        if service.letter in letters:
            raise CatalogueError(
                f"{where}: duplicate letter {service.letter!r} (also {letters[service.letter]!r})"
            )
        services[service.code] = service
        letters[service.letter] = service.code
    return Catalogue(office=office, services=services)


def _required(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in mapping:
        raise CatalogueError(f"{where}: missing {key!r}")
    value = mapping[key]
    if not isinstance(value, kind):
        expected = {Mapping: "a mapping", list: "a list"}.get(kind, "text")
        raise CatalogueError(f"{where}: {key!r} must be {expected}, not {type(value).__name__}")
    return value


def _text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = _required(mapping, key, str, where)
    if not value.strip():
        raise CatalogueError(f"{where}: {key!r} is empty")
    return value


def _counter(value: Any, where: str) -> str:
    # Counters are labels ("1", "2A"); a bare YAML number is accepted as its text.
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise CatalogueError(f"{where}: a counter must be non-empty text, not {value!r}")
    return str(value)


def _office(raw: Mapping[str, Any], where: str) -> Office:
    timezone = raw.get("timezone", DEFAULT_TIMEZONE)
    if not isinstance(timezone, str):
        raise CatalogueError(f"{where}: 'timezone' must be text, not {type(timezone).__name__}")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CatalogueError(f"{where}: unknown timezone {timezone!r}") from error
    return Office(
        name_vi=_text(raw, "name_vi", where),
        name_en=_text(raw, "name_en", where),
        timezone=timezone,
        fallback_counter=_counter(raw.get("fallback_counter", DEFAULT_FALLBACK_COUNTER), where),
    )


def _service(raw: Any, where: str) -> Service:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{where}: expected a mapping, not {type(raw).__name__}")
    code = _text(raw, "code", where)
    letter = _text(raw, "letter", where)
    # The letter prefixes queue numbers, which must stay letters and digits.
    if not (letter.isascii() and letter.isalpha()):
        raise CatalogueError(f"{where}: 'letter' must be ASCII letters, not {letter!r}")
    name_vi, name_en = _text(raw, "name_vi", where), _text(raw, "name_en", where)
    counters = _required(raw, "counters", list, where)
    if not counters:
        raise CatalogueError(f"{where}: 'counters' is empty")
    minutes = _required(raw, "average_handling_min", object, where)
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
        raise CatalogueError(f"{where}: 'average_handling_min' must be a positive number, not {minutes!r}")
    return Service(
        code=code,
        letter=letter,
        name_vi=name_vi,
        name_en=name_en,
        counters=tuple(_counter(c, f"{where}: counters") for c in counters),
        average_handling_min=minutes,  # kept as written (8 stays 8 in the server's JSON)
    )
