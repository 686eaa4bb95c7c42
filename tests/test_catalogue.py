"""The one loader of config/services.yaml: the shipped file loads; every kind of bad file is refused
with a CatalogueError that names the file and the place."""

import re
from pathlib import Path

import pytest
import yaml

from service_desk_robot.robot.catalogue import Catalogue, CatalogueError, load_catalogue, parse_catalogue


@pytest.fixture
def document(repo: Path) -> dict:
    return yaml.safe_load((repo / "config/services.yaml").read_text(encoding="utf-8"))


def test_the_shipped_catalogue_loads(repo: Path):
    catalogue = load_catalogue(repo / "config/services.yaml")
    assert isinstance(catalogue, Catalogue)
    assert list(catalogue.services) == [
        "civil_status",
        "certification",
        "land_construction",
        "business_food_safety",
        "social_affairs",
    ]  # file order: the order visitors see them
    civil = catalogue.services["civil_status"]
    assert (civil.letter, civil.counters, civil.average_handling_min) == ("A", ("1", "2"), 8)
    assert civil.name("en").startswith("Civil status")
    assert civil.name("vi").startswith("Hộ tịch")
    office = catalogue.office
    assert (office.timezone, office.fallback_counter) == ("Asia/Ho_Chi_Minh", "1")
    assert office.name("en").startswith("Ba Dinh")
    assert office.name("vi").startswith("UBND")


def test_optional_office_keys_take_their_defaults(document: dict):
    del document["office"]["timezone"], document["office"]["fallback_counter"]
    office = parse_catalogue(document).office
    assert (office.timezone, office.fallback_counter) == ("Asia/Ho_Chi_Minh", "1")


def test_numeric_counters_are_read_as_text(document: dict):
    document["services"][1]["counters"] = [3, "3A"]
    document["office"]["fallback_counter"] = 7
    catalogue = parse_catalogue(document)
    assert catalogue.services["certification"].counters == ("3", "3A")
    assert catalogue.office.fallback_counter == "7"


def _pop(key: str, index: int = 2):
    return lambda d: d["services"][index].pop(key)


def _set(key: str, value, index: int = 2):
    return lambda d: d["services"][index].update({key: value})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_pop("letter"), "services.yaml: services[2]: missing 'letter'"),
        (_pop("code"), "services.yaml: services[2]: missing 'code'"),
        (_pop("name_en"), "services.yaml: services[2]: missing 'name_en'"),
        (_pop("counters"), "services.yaml: services[2]: missing 'counters'"),
        (_pop("average_handling_min"), "services.yaml: services[2]: missing 'average_handling_min'"),
        (_set("code", "certification"), "services.yaml: services[2]: duplicate code 'certification'"),
        (_set("letter", "A"), "services.yaml: services[2]: duplicate letter 'A'"),
        (_set("code", 12), "services.yaml: services[2]: 'code' must be text, not int"),
        (_set("name_vi", "  "), "services.yaml: services[2]: 'name_vi' is empty"),
        (_set("letter", "Ç"), "services.yaml: services[2]: 'letter' must be ASCII letters"),
        (_set("counters", "4"), "services.yaml: services[2]: 'counters' must be a list, not str"),
        (_set("counters", []), "services.yaml: services[2]: 'counters' is empty"),
        (_set("counters", [None]), "services.yaml: services[2]: counters: a counter must be non-empty text"),
        (_set("average_handling_min", "15"), "services.yaml: services[2]: 'average_handling_min' must be a"),
        (_set("average_handling_min", 0), "services.yaml: services[2]: 'average_handling_min' must be a"),
        (_set("average_handling_min", True), "services.yaml: services[2]: 'average_handling_min' must be a"),
        (lambda d: d["services"].__setitem__(2, "land"), "services.yaml: services[2]: expected a mapping"),
        (lambda d: d.update(services=[]), "services.yaml: services: the list is empty"),
        (lambda d: d.update(services={"a": 1}), "services.yaml: 'services' must be a list, not dict"),
        (lambda d: d.pop("services"), "services.yaml: missing 'services'"),
        (lambda d: d.pop("office"), "services.yaml: missing 'office'"),
        (lambda d: d.update(office="Ba Dinh"), "services.yaml: 'office' must be a mapping, not str"),
        (lambda d: d["office"].pop("name_vi"), "services.yaml: office: missing 'name_vi'"),
        (lambda d: d["office"].update(timezone="Mars/Olympus"), "services.yaml: office: unknown timezone"),
        (lambda d: d["office"].update(timezone=7), "services.yaml: office: 'timezone' must be text"),
        (lambda d: d["office"].update(fallback_counter=""), "services.yaml: office: a counter must be"),
    ],
)
def test_a_bad_file_names_the_place(tmp_path: Path, document: dict, edit, message: str):
    edit(document)
    path = tmp_path / "services.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape(message)):
        load_catalogue(path)


def test_unreadable_invalid_or_wrongly_shaped_files(tmp_path: Path):
    with pytest.raises(CatalogueError, match=r"cannot read .*absent\.yaml"):
        load_catalogue(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("services: [", encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape("broken.yaml is not valid YAML")):
        load_catalogue(broken)
    listed = tmp_path / "listed.yaml"
    listed.write_text("- code: x\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape("listed.yaml: expected a mapping at the top level")):
        load_catalogue(listed)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CatalogueError, match=re.escape("empty.yaml: expected a mapping")):
        load_catalogue(empty)
    assert issubclass(CatalogueError, ValueError)


def test_parse_names_the_given_source(document: dict):
    document["services"][0].pop("letter")
    with pytest.raises(CatalogueError, match=re.escape("office.yaml: services[0]: missing 'letter'")):
        parse_catalogue(document, "office.yaml")


def test_every_reader_reports_a_bad_catalogue_in_its_own_error(repo: Path, tmp_path: Path, document: dict):
    from service_desk_robot.printer.errors import PrinterConfigError
    from service_desk_robot.printer.ticket import load_ticket_config
    from service_desk_robot.robot.dialogue.config import DialogueConfig
    from service_desk_robot.robot.dialogue.errors import DialogueConfigError
    from service_desk_robot.robot.screen import ScreenConfigError
    from service_desk_robot.robot.screen.config import load_services
    from service_desk_robot.sim.ward_office.config import ConfigError, load_config

    for name in ("phrases.yaml", "intents.yaml", "procedures.yaml"):
        (tmp_path / name).write_bytes((repo / "config" / name).read_bytes())
    document["services"][2].pop("letter")
    services = tmp_path / "services.yaml"
    services.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    place = re.escape("services.yaml: services[2]: missing 'letter'")
    readers = [
        (PrinterConfigError, lambda: load_ticket_config(repo / "config/ticket.yaml", services)),
        (ConfigError, lambda: load_config(services)),
        (DialogueConfigError, lambda: DialogueConfig.load(tmp_path)),
        (ScreenConfigError, lambda: load_services(services)),
    ]
    for error_type, read in readers:
        with pytest.raises(error_type, match=place) as caught:
            read()
        assert isinstance(caught.value.__cause__, CatalogueError)
