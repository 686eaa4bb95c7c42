"""Configuration of the simulated ward office server, read once at start-up.

Owns: the tokens and roles, the booking rules, the simulator pace and the demo applications
(config/ward_office_server.yaml), parsed into frozen dataclasses, next to the catalogue of
config/services.yaml (read by robot/catalogue.py, shared with the robot). A bad file raises
`ConfigError` with the offending key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from service_desk_robot.robot.catalogue import CatalogueError, Service, load_catalogue

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
DEFAULT_SERVICES = REPO_CONFIG / "services.yaml"
DEFAULT_SERVER_CONFIG = REPO_CONFIG / "ward_office_server.yaml"

DEFAULT_PORT = 8765  # the simulator's port unless told otherwise (config/ward_office_bridge.yaml agrees)
ROLES = ("robot", "counter", "admin")
APPLICATION_STATUSES = ("RECEIVED", "PROCESSING", "READY", "RETURNED")


class ConfigError(ValueError):
    """The server's configuration files are missing, malformed or inconsistent."""


@dataclass(frozen=True)
class Token:
    token: str
    role: str
    name: str
    counters: tuple[str, ...] = ()  # empty: any counter


@dataclass(frozen=True)
class Rules:
    booking_days_ahead: int = 6
    max_numbers_per_person_per_day: int = 2
    max_numbers_per_person_per_service_per_day: int = 1
    max_body_bytes: int = 16384
    max_comment_chars: int = 1000


@dataclass(frozen=True)
class SimulatorSettings:
    call_interval_s: float = 30.0
    no_show_share: float = 0.05


@dataclass(frozen=True)
class DemoApplication:
    receipt_code: str
    procedure_name_vi: str
    procedure_name_en: str
    status: str
    channel: str
    received_days_ago: int
    due_in_days: int
    completed_days_ago: int | None = None


@dataclass(frozen=True)
class ServerConfig:
    office_name_vi: str
    office_name_en: str
    timezone: ZoneInfo
    services: tuple[Service, ...]
    tokens: tuple[Token, ...]
    rules: Rules = field(default_factory=Rules)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    demo_applications: tuple[DemoApplication, ...] = ()

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def services_of_counter(self, counter: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if counter in s.counters)

    @property
    def counters(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for service in self.services:
            seen.update(dict.fromkeys(service.counters))
        return tuple(seen)

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.timezone).date()


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def _build(cls: type, raw: Any, where: str) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    except TypeError as error:
        raise ConfigError(f"{where}: {error}") from error


def load_config(
    services_path: Path = DEFAULT_SERVICES, server_path: Path = DEFAULT_SERVER_CONFIG
) -> ServerConfig:
    try:
        catalogue = load_catalogue(services_path)
    except CatalogueError as error:
        raise ConfigError(str(error)) from error
    server = _read_yaml(server_path)
    tokens = tuple(_build(Token, raw, f"tokens[{i}]") for i, raw in enumerate(server.get("tokens") or []))
    for token in tokens:
        if token.role not in ROLES:
            raise ConfigError(f"{server_path}: token {token.name!r} has unknown role {token.role!r}")
    applications = tuple(
        _build(DemoApplication, raw, f"demo_applications[{i}]")
        for i, raw in enumerate(server.get("demo_applications") or [])
    )
    for application in applications:
        if application.status not in APPLICATION_STATUSES:
            raise ConfigError(
                f"{server_path}: {application.receipt_code} has unknown status {application.status!r}"
            )
    return ServerConfig(
        office_name_vi=catalogue.office.name_vi,
        office_name_en=catalogue.office.name_en,
        timezone=ZoneInfo(catalogue.office.timezone),  # the catalogue checked that it exists
        services=tuple(catalogue.services.values()),
        tokens=tokens,
        rules=_build(Rules, server.get("rules") or {}, "rules"),
        simulator=_build(SimulatorSettings, server.get("simulator") or {}, "simulator"),
        demo_applications=applications,
    )
