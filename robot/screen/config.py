"""The screen's configuration: labels in both languages and the catalogue shown to visitors.

Labels are the visitor- and staff-facing text of the pages, kept in config/screen.yaml
(never in the HTML/JS): a nested mapping per language whose keys must be the same in
vi and en. The catalogue lists the services (config/services.yaml, read through
robot/catalogue.py) and the procedures
(config/procedures.yaml) a visitor can pick. Pure functions, called once at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from service_desk_robot.robot.catalogue import CatalogueError, load_catalogue
from service_desk_robot.robot.screen import ScreenConfigError
from service_desk_robot.robot.screen.intents import LANGUAGES, Catalog


@dataclass(frozen=True)
class Choice:
    """One pickable item (a service or a procedure) with its names."""

    id: str
    name_vi: str
    name_en: str
    letter: str = ""

    def as_json(self) -> dict:
        return {"id": self.id, "name_vi": self.name_vi, "name_en": self.name_en, "letter": self.letter}


@dataclass(frozen=True)
class ScreenCatalog:
    services: tuple[Choice, ...]
    procedures: tuple[Choice, ...]

    def intents_catalog(self) -> Catalog:
        return Catalog(
            service_codes=frozenset(s.id for s in self.services),
            procedure_ids=frozenset(p.id for p in self.procedures),
        )

    def as_json(self) -> dict:
        return {
            "services": [s.as_json() for s in self.services],
            "procedures": [p.as_json() for p in self.procedures],
        }


def _flatten(tree: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(tree, Mapping):
        return {prefix: tree}
    flat: dict[str, object] = {}
    for key, value in tree.items():
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def check_labels(labels: object) -> dict[str, dict]:
    """Return the labels if both languages have the same keys and every value is text."""
    if not isinstance(labels, Mapping):
        raise ScreenConfigError("labels must be a mapping of language -> labels")
    missing_languages = [lang for lang in LANGUAGES if lang not in labels]
    if missing_languages:
        raise ScreenConfigError(f"labels missing for languages {missing_languages}")
    flat = {lang: _flatten(labels[lang]) for lang in LANGUAGES}
    reference = set(flat[LANGUAGES[0]])
    for lang in LANGUAGES[1:]:
        difference = reference.symmetric_difference(flat[lang])
        if difference:
            raise ScreenConfigError(f"labels differ between languages: {sorted(difference)}")
    for lang in LANGUAGES:
        empty = [key for key, value in flat[lang].items() if not isinstance(value, str) or not value.strip()]
        if empty:
            raise ScreenConfigError(f"labels ({lang}) must be non-empty text: {sorted(empty)}")
    return {lang: dict(labels[lang]) for lang in LANGUAGES}


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ScreenConfigError(f"cannot read {path}: {error}") from error


def load_services(path: Path) -> tuple[Choice, ...]:
    """The services of services.yaml as choices, in catalogue order."""
    try:
        catalogue = load_catalogue(path)
    except CatalogueError as error:
        raise ScreenConfigError(str(error)) from error
    return tuple(Choice(s.code, s.name_vi, s.name_en, s.letter) for s in catalogue.services.values())


def load_procedures(path: Path) -> tuple[Choice, ...]:
    """Procedures from procedures.yaml: a list under `procedures` (or a mapping id -> entry)
    whose entries carry `id` and `name_vi`/`name_en` (or `name: {vi, en}`)."""
    data = _read_yaml(path)
    entries = data.get("procedures") if isinstance(data, Mapping) else None
    if isinstance(entries, Mapping):
        entries = [{"id": key, **value} for key, value in entries.items() if isinstance(value, Mapping)]
    if not isinstance(entries, list) or not entries:
        raise ScreenConfigError(f"{path}: no procedures listed")
    choices = []
    for entry in entries:
        if not isinstance(entry, Mapping) or "id" not in entry:
            raise ScreenConfigError(f"{path}: a procedure lacks an id")
        names = entry.get("name") if isinstance(entry.get("name"), Mapping) else {}
        name_vi = entry.get("name_vi") or names.get("vi")
        name_en = entry.get("name_en") or names.get("en")
        if not name_vi or not name_en:
            raise ScreenConfigError(f"{path}: procedure {entry['id']!r} lacks a vi or en name")
        choices.append(Choice(str(entry["id"]), str(name_vi), str(name_en)))
    return tuple(choices)
