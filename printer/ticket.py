"""The ticket to print and the configuration that says how it reads: plain data, no I/O threads.

`TicketData` mirrors service_desk_interfaces/msg/Ticket without importing ROS. `load_ticket_config`
reads config/ticket.yaml (visitor-facing text in vi and en, layout sizes, limits, status URL
template) and takes the office and services from config/services.yaml through
robot/catalogue.py (the one parser of that file). `validate_ticket`
turns a raw ticket into a complete, checked one (names and counters filled from the catalogue,
issue time from the injected clock) or raises TicketError with a reason a person can act on.
Everything here is immutable and safe to share between threads.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from service_desk_robot.printer.errors import PrinterConfigError, TicketError
from service_desk_robot.robot.catalogue import CatalogueError, Office, Service, load_catalogue

LANGUAGES = ("vi", "en")
TEXT_KEYS = (
    "number_label",
    "priority",
    "people_ahead",
    "people_ahead_none",
    "estimated_wait",
    "counters",
    "booking_code",
    "issued_at",
    "qr_hint",
    "instruction",
    "date_format",
    "time_format",
)
# A queue number is letters and digits (the server's "letter per field + number").
_NUMBER_RE = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class TicketData:
    """One queue ticket issued by the ward office server (the robot never numbers tickets)."""

    number: str
    service_code: str
    service_name_vi: str = ""
    service_name_en: str = ""
    people_ahead: int = 0
    estimated_wait_min: int = 0
    counters: tuple[str, ...] = ()
    issued_at: str = ""  # ISO 8601 local time from the server; "" = now
    booking_code: str = ""
    priority: bool = False
    channel: str = ""
    language: str = ""  # "vi" / "en"; "" = the configured default

    @property
    def key(self) -> str:
        """Identity for "never print twice": numbers restart daily, so date + number."""
        return f"{self.issued_at[:10]}/{self.number}"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["counters"] = list(self.counters)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TicketData:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["counters"] = tuple(values.get("counters", ()))
        return cls(**values)


@dataclass(frozen=True)
class Layout:
    """Sizes in dots at 80 mm; `scaled` gives the sizes for another paper width."""

    margin_px: int = 16
    top_px: int = 8
    bottom_px: int = 16
    line_gap_px: int = 4
    block_gap_px: int = 10
    office_font_px: int = 22
    label_font_px: int = 24
    number_font_px: int = 140
    service_font_px: int = 28
    body_font_px: int = 24
    small_font_px: int = 20
    min_font_px: int = 16
    qr_module_px: int = 4
    threshold: int = 128

    def scaled(self, width_dots: int) -> Layout:
        if width_dots >= 576:
            return self
        factor = width_dots / 576

        def size(value: int) -> int:
            return max(self.min_font_px, round(value * factor))

        return dataclasses.replace(
            self,
            margin_px=max(8, round(self.margin_px * factor)),
            office_font_px=size(self.office_font_px),
            label_font_px=size(self.label_font_px),
            number_font_px=size(self.number_font_px),
            service_font_px=size(self.service_font_px),
            body_font_px=size(self.body_font_px),
            small_font_px=size(self.small_font_px),
            qr_module_px=max(2, round(self.qr_module_px * factor + 0.25)),
        )


@dataclass(frozen=True)
class Limits:
    max_number_chars: int = 8
    max_text_chars: int = 120
    max_people_ahead: int = 9999
    max_wait_min: int = 1440
    max_counters: int = 8


@dataclass(frozen=True)
class TicketConfig:
    office: Office
    services: Mapping[str, Service]  # code -> service (config/services.yaml)
    texts: dict[str, dict[str, str]]  # language -> key -> text
    status_url_template: str
    font_regular: Path
    font_bold: Path
    layout: Layout = field(default_factory=Layout)
    limits: Limits = field(default_factory=Limits)
    default_language: str = "vi"

    def text(self, language: str, key: str) -> str:
        return self.texts[language][key]


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PrinterConfigError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise PrinterConfigError(f"{path}: expected a mapping at the top level")
    return data


def _dataclass_from(cls: type, raw: Any, where: str) -> Any:
    raw = raw or {}
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise PrinterConfigError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        return cls(**{k: int(v) for k, v in raw.items()})
    except (TypeError, ValueError) as error:
        raise PrinterConfigError(f"{where}: {error}") from error


def load_ticket_config(ticket_yaml: Path, services_yaml: Path) -> TicketConfig:
    """Read and check both files; raises PrinterConfigError naming the file and key at fault."""
    ticket = _read_yaml(ticket_yaml)
    try:
        catalogue = load_catalogue(services_yaml)
    except CatalogueError as error:
        raise PrinterConfigError(str(error)) from error
    try:
        texts_raw = ticket["texts"]
        template = str(ticket["status_url_template"])
        fonts = ticket["fonts"]
    except (KeyError, TypeError) as error:
        raise PrinterConfigError(f"{ticket_yaml}: missing or malformed {error}") from error
    texts: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        block = texts_raw.get(language) or {}
        missing = [k for k in TEXT_KEYS if not block.get(k)]
        if missing:
            raise PrinterConfigError(f"{ticket_yaml}: texts.{language} lacks {missing}")
        texts[language] = {k: str(block[k]) for k in TEXT_KEYS}
    default_language = str(ticket.get("default_language", "vi"))
    if default_language not in LANGUAGES:
        raise PrinterConfigError(f"{ticket_yaml}: default_language must be one of {LANGUAGES}")
    config = TicketConfig(
        office=catalogue.office,
        services=catalogue.services,
        texts=texts,
        status_url_template=template,
        font_regular=Path(fonts["regular"]),
        font_bold=Path(fonts["bold"]),
        layout=_dataclass_from(Layout, ticket.get("layout"), f"{ticket_yaml}: layout"),
        limits=_dataclass_from(Limits, ticket.get("limits"), f"{ticket_yaml}: limits"),
        default_language=default_language,
    )
    for font in (config.font_regular, config.font_bold):
        if not font.is_file():
            raise PrinterConfigError(f"{ticket_yaml}: font {font} not found (Debian fonts-dejavu-core)")
    # Fail at start-up, not on the first visitor, if the template has a typo.
    status_url(TicketData(number="A001", service_code="x", issued_at="2024-01-01T08:00:00"), config)
    return config


def status_url(ticket: TicketData, config: TicketConfig) -> str:
    values = {
        "number": ticket.number,
        "date": ticket.issued_at[:10],
        "service_code": ticket.service_code,
        "booking_code": ticket.booking_code,
    }
    quoted = {k: urllib.parse.quote(v, safe="") for k, v in values.items()}
    try:
        return config.status_url_template.format(**quoted)
    except (KeyError, IndexError, ValueError) as error:
        raise PrinterConfigError(f"status_url_template {config.status_url_template!r}: {error}") from error


def _check_text(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise TicketError(f"{name} is {len(value)} characters long; at most {limit} fit on a ticket")
    if any(ord(c) < 32 for c in value):
        raise TicketError(f"{name} contains control characters")
    return value


def validate_ticket(ticket: TicketData, config: TicketConfig, now: datetime) -> TicketData:
    """A complete ticket ready to lay out, or TicketError saying what is wrong with it."""
    limits = config.limits
    number = ticket.number.strip()
    if not number:
        raise TicketError("the ticket has no number")
    if len(number) > limits.max_number_chars or not _NUMBER_RE.match(number):
        raise TicketError(
            f"ticket number {number[:40]!r} is not a queue number "
            f"(letters and digits, at most {limits.max_number_chars})"
        )
    service = config.services.get(ticket.service_code.strip())
    if service is None:
        raise TicketError(
            f"unknown service {ticket.service_code[:40]!r}; known: {', '.join(sorted(config.services))}"
        )
    if ticket.people_ahead < 0 or ticket.people_ahead > limits.max_people_ahead:
        raise TicketError(f"people_ahead {ticket.people_ahead} is out of range 0..{limits.max_people_ahead}")
    if ticket.estimated_wait_min < 0 or ticket.estimated_wait_min > limits.max_wait_min:
        raise TicketError(
            f"estimated_wait_min {ticket.estimated_wait_min} is out of range 0..{limits.max_wait_min}"
        )
    counters = tuple(_check_text("counter", c, limits.max_text_chars) for c in ticket.counters if c.strip())
    if len(counters) > limits.max_counters:
        raise TicketError(f"{len(counters)} counters listed; at most {limits.max_counters}")
    if ticket.issued_at.strip():
        try:
            issued = datetime.fromisoformat(ticket.issued_at.strip())
        except ValueError as error:
            raise TicketError(f"issued_at {ticket.issued_at[:40]!r} is not an ISO 8601 time") from error
    else:
        issued = now
    language = ticket.language.strip().lower()[:2]
    if language not in LANGUAGES:
        # An unknown language still gets a ticket: the default language is always readable here.
        language = config.default_language
    return dataclasses.replace(
        ticket,
        number=number.upper(),
        service_code=service.code,
        service_name_vi=_check_text("service_name_vi", ticket.service_name_vi, limits.max_text_chars)
        or service.name_vi,
        service_name_en=_check_text("service_name_en", ticket.service_name_en, limits.max_text_chars)
        or service.name_en,
        counters=counters or service.counters,
        issued_at=issued.replace(microsecond=0).isoformat(),
        booking_code=_check_text("booking_code", ticket.booking_code, limits.max_text_chars),
        channel=ticket.channel.strip(),
        language=language,
    )
