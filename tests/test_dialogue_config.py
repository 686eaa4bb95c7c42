"""The dialogue's configuration: complete, sourced, bilingual; broken files fail loudly."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from service_desk_robot.robot.dialogue.config import ASPECTS, LANGUAGES, DialogueConfig
from service_desk_robot.robot.dialogue.errors import DialogueConfigError

DESIGN_PROCEDURES = {
    "residence_registration",
    "id_card",
    "driving_licence",
    "birth_registration",
    "construction_permit",
    "food_safety_certificate",
    "certification",
    "marriage_registration",
}


@pytest.fixture(scope="module")
def config(repo: Path) -> DialogueConfig:
    return DialogueConfig.load(repo / "config")


def test_the_design_procedures_are_all_there_and_sourced(config: DialogueConfig):
    assert set(config.procedures) == DESIGN_PROCEDURES
    for procedure in config.procedures.values():
        for aspect in ASPECTS:
            fact = procedure.facts[aspect]
            assert fact.checked == "2026-11"
            assert fact.confidence in ("V", "I", "U")
            assert fact.sources
            assert all(s.strip() for s in fact.sources)
            assert all(fact.text[language] for language in LANGUAGES)


def test_police_procedures_are_routed_away(config: DialogueConfig):
    routes = {pid: p.route for pid, p in config.procedures.items() if p.route}
    assert routes == {
        "residence_registration": "ward_police",
        "id_card": "ward_police",
        "driving_licence": "traffic_police",
    }


def test_every_phrase_the_manager_uses_exists_in_both_languages(repo: Path, config: DialogueConfig):
    source = (repo / "robot" / "dialogue" / "manager.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'_say\(\s*turn,\s*"(\w+)"', source))
    keys |= set(re.findall(r'key = "(\w+)"', source))
    keys |= set(re.findall(r'"(dispense_\w+)"', source))
    keys |= {f"status_{s}" for s in ("RECEIVED", "PROCESSING", "READY", "RETURNED", "other")}
    keys |= {"service_option", "fee_checked"}
    assert len(keys) > 40
    for key in sorted(keys):
        for language in LANGUAGES:
            assert config.phrases.text(key, language, **_dummy_fields(config, key, language))


def _dummy_fields(config: DialogueConfig, key: str, language: str) -> dict[str, str]:
    return {name: "x" for name in config.phrases.placeholders(key, language)}


def test_placeholders_match_between_languages(config: DialogueConfig, repo: Path):
    document = yaml.safe_load((repo / "config" / "phrases.yaml").read_text(encoding="utf-8"))
    for key in document["phrases"]:
        assert config.phrases.placeholders(key, "vi") == config.phrases.placeholders(key, "en"), key


def _broken_copy(repo: Path, tmp_path: Path, name: str, edit) -> Path:
    for file in ("services.yaml", "phrases.yaml", "intents.yaml", "procedures.yaml"):
        shutil.copy(repo / "config" / file, tmp_path / file)
    path = tmp_path / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        ("phrases.yaml", lambda d: d["phrases"]["greeting"].pop("en"), "greeting: missing 'en'"),
        ("procedures.yaml", lambda d: d["procedures"]["id_card"]["facts"]["fee"].pop("checked"), "checked"),
        (
            "procedures.yaml",
            lambda d: d["procedures"]["id_card"]["facts"]["fee"].update(sources=[]),
            "source",
        ),
        ("procedures.yaml", lambda d: d["procedures"]["id_card"]["facts"].pop("online"), "online"),
        ("procedures.yaml", lambda d: d["procedures"]["id_card"]["facts"]["fee"].update(confidence="X"), "V"),
        ("procedures.yaml", lambda d: d["procedures"]["id_card"].update(service="nope"), "exactly one"),
        ("procedures.yaml", lambda d: d["procedures"]["birth_registration"].update(service="nope"), "nope"),
        ("intents.yaml", lambda d: d["answers"].pop("affirm"), "affirm"),
        ("intents.yaml", lambda d: d["intents"]["water"].update(vi="nước"), "list of words"),
    ],
)
def test_broken_config_fails_naming_the_place(repo, tmp_path, name, edit, message):
    folder = _broken_copy(repo, tmp_path, name, edit)
    with pytest.raises(DialogueConfigError, match=re.escape(message)):
        DialogueConfig.load(folder)


def test_missing_file_and_bad_settings(repo, tmp_path):
    with pytest.raises(DialogueConfigError, match="cannot read"):
        DialogueConfig.load(tmp_path)
    with pytest.raises(DialogueConfigError, match="default_language"):
        DialogueConfig.load(repo / "config", default_language="fr")
    (tmp_path / "services.yaml").write_text("services: [", encoding="utf-8")
    with pytest.raises(DialogueConfigError, match="not valid YAML"):
        DialogueConfig.load(tmp_path)


def test_fallback_counter_comes_from_services_yaml(config: DialogueConfig):
    assert config.settings.fallback_counter == "1"
