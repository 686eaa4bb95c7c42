"""Replies of the ward office server, parsed and checked into small frozen dataclasses.

A reply that lacks a field or has the wrong type raises `BadResponseError` (the server is
then treated as unavailable, like one that answers garbage), never KeyError/TypeError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from service_desk_robot.robot.ward_office.errors import BadResponseError

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceQueueInfo:
    code: str
    letter: str
    name_vi: str
    name_en: str
    now_serving: str
    waiting: int
    estimated_wait_min: int
    counters: tuple[str, ...]


@dataclass(frozen=True)
class QueueSnapshot:
    day: str
    services: tuple[ServiceQueueInfo, ...]


@dataclass(frozen=True)
class TicketInfo:
    number: str
    service_code: str
    service_name_vi: str
    service_name_en: str
    people_ahead: int
    estimated_wait_min: int
    counters: tuple[str, ...]
    issued_at: str
    booking_code: str
    priority: bool
    channel: str
    language: str


@dataclass(frozen=True)
class ApplicationInfo:
    receipt_code: str
    status: str
    procedure_name_vi: str
    procedure_name_en: str
    due_date: str
    overdue: bool


@dataclass(frozen=True)
class FeedbackReceipt:
    id: int
    duplicate: bool


def _field(data: Mapping[str, Any], name: str, kind: type[T], what: str) -> T:
    value = data.get(name)
    # bool is an int in Python; a JSON true where a count belongs is still a bad reply.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadResponseError(f"{what}: field {name!r} missing or not {kind.__name__}: {value!r}")
    return value


def _strings(data: Mapping[str, Any], name: str, what: str) -> tuple[str, ...]:
    value = data.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadResponseError(f"{what}: field {name!r} is not a list of strings: {value!r}")
    return tuple(value)


def _mapping(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise BadResponseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def parse_queue(data: Any) -> QueueSnapshot:
    data = _mapping(data, "queue")
    raw_services = data.get("services")
    if not isinstance(raw_services, list):
        raise BadResponseError("queue: 'services' is not a list")
    services = []
    for raw in raw_services:
        raw = _mapping(raw, "queue service")
        services.append(
            ServiceQueueInfo(
                code=_field(raw, "code", str, "queue service"),
                letter=_field(raw, "letter", str, "queue service"),
                name_vi=_field(raw, "name_vi", str, "queue service"),
                name_en=_field(raw, "name_en", str, "queue service"),
                now_serving=_field(raw, "now_serving", str, "queue service"),
                waiting=_field(raw, "waiting", int, "queue service"),
                estimated_wait_min=_field(raw, "estimated_wait_min", int, "queue service"),
                counters=_strings(raw, "counters", "queue service"),
            )
        )
    return QueueSnapshot(day=_field(data, "day", str, "queue"), services=tuple(services))


def parse_ticket(data: Any) -> TicketInfo:
    data = _mapping(data, "ticket")
    return TicketInfo(
        number=_field(data, "number", str, "ticket"),
        service_code=_field(data, "service_code", str, "ticket"),
        service_name_vi=_field(data, "service_name_vi", str, "ticket"),
        service_name_en=_field(data, "service_name_en", str, "ticket"),
        people_ahead=_field(data, "people_ahead", int, "ticket"),
        estimated_wait_min=_field(data, "estimated_wait_min", int, "ticket"),
        counters=_strings(data, "counters", "ticket"),
        issued_at=_field(data, "issued_at", str, "ticket"),
        booking_code=_field(data, "booking_code", str, "ticket"),
        priority=_field(data, "priority", bool, "ticket"),
        channel=_field(data, "channel", str, "ticket"),
        language=_field(data, "language", str, "ticket"),
    )


def parse_application(data: Any) -> ApplicationInfo:
    data = _mapping(data, "application")
    return ApplicationInfo(
        receipt_code=_field(data, "receipt_code", str, "application"),
        status=_field(data, "status", str, "application"),
        procedure_name_vi=_field(data, "procedure_name_vi", str, "application"),
        procedure_name_en=_field(data, "procedure_name_en", str, "application"),
        due_date=_field(data, "due_date", str, "application"),
        overdue=_field(data, "overdue", bool, "application"),
    )


def parse_feedback_receipt(data: Any) -> FeedbackReceipt:
    data = _mapping(data, "feedback")
    return FeedbackReceipt(
        id=_field(data, "id", int, "feedback"), duplicate=_field(data, "duplicate", bool, "feedback")
    )
