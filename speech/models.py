"""ASR model management: install models into the models folder and record them.

The models folder (`models_dir()`: $SERVICE_DESK_MODELS_DIR, else the user's data dir,
`~/.local/share/service-desk-robot/models`) holds one sub-folder per model and
`models.json`, the registry the asr node reads: for each language, the model installed
last is the active one.

`ModelStore.install(source, language)` takes an http(s):// or file:// URL, a local archive
(zip, tar, tar.gz, tar.xz, tar.bz2) or a local model folder; checks the archive's SHA-256
when one is given; unpacks it into a staging folder inside the models folder, refusing
absolute paths, `..`, links and devices; finds the model inside (the folder with
am/final.mdl) and moves it into place with one rename. Any failure leaves the folder and
the registry as they were.

Threading/processes: registry updates take an exclusive lock file and replace
models.json atomically, so two installs never lose each other's entry.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from service_desk_robot.speech.asr import is_vosk_model_folder
from service_desk_robot.speech.errors import (
    ChecksumMismatchError,
    ModelInstallError,
    ModelNotFoundError,
    UnsafeArchiveError,
)

logger = logging.getLogger(__name__)

ENV_MODELS_DIR = "SERVICE_DESK_MODELS_DIR"
REGISTRY_FILE = "models.json"
LANGUAGES = ("vi", "en")
DOWNLOAD_CHUNK_BYTES = 1 << 20
MAX_UNPACKED_BYTES = 8 << 30  # 8 GiB: bigger than any Vosk model, smaller than a zip bomb
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tar.xz", ".tar.bz2", ".tgz", ".tar", ".zip")


def models_dir(configured: str | Path | None = None) -> Path:
    """The models folder: `configured` when set, else $SERVICE_DESK_MODELS_DIR, else the data dir."""
    if configured:
        return Path(configured).expanduser()
    if os.environ.get(ENV_MODELS_DIR):
        return Path(os.environ[ENV_MODELS_DIR]).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "service-desk-robot" / "models"


@dataclass(frozen=True)
class InstalledModel:
    name: str
    language: str
    engine: str
    path: str  # absolute
    source: str
    sha256: str  # of the archive; "" for a folder source
    size_bytes: int
    installed_at: str  # ISO 8601 UTC


class ModelStore:
    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = models_dir(folder)

    @property
    def registry_path(self) -> Path:
        return self.folder / REGISTRY_FILE

    # --- reading ---------------------------------------------------------------------------

    def list(self) -> list[InstalledModel]:
        if not self.registry_path.exists():
            return []
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
            return [InstalledModel(**entry) for entry in data.get("models", [])]
        except (OSError, ValueError, TypeError) as error:
            raise ModelInstallError(f"{self.registry_path} is unreadable: {error}") from error

    def active(self, language: str) -> InstalledModel | None:
        """The model installed last for `language`, or None."""
        candidates = [m for m in self.list() if m.language == language]
        return candidates[-1] if candidates else None

    def model_path(self, language: str) -> Path:
        """Folder of the active model for `language`; ModelNotFoundError with the fix when none."""
        model = self.active(language)
        if model is None:
            raise ModelNotFoundError(
                f"no ASR model installed for {language!r} in {self.folder}: run "
                f"`service-desk-robot models install SOURCE --lang {language}`"
            )
        path = Path(model.path)
        if not path.is_dir():
            raise ModelNotFoundError(
                f"model {model.name!r} for {language!r} is registered but {path} is missing"
            )
        return path

    # --- installing --------------------------------------------------------------------

    def install(
        self,
        source: str,
        language: str,
        *,
        sha256: str | None = None,
        name: str | None = None,
        force: bool = False,
        timeout_s: float = 60.0,
    ) -> InstalledModel:
        if language not in LANGUAGES:
            raise ModelInstallError(f"unknown language {language!r}: use one of {', '.join(LANGUAGES)}")
        if sha256 is not None and not _SHA256.fullmatch(sha256):
            raise ModelInstallError(f"--sha256 must be 64 hex digits, got {sha256!r}")
        if name is not None and not _NAME.fullmatch(name):
            raise ModelInstallError(f"model name {name!r}: use letters, digits, '.', '_' and '-'")
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.folder))
        try:
            unpacked = staging / "unpacked"
            digest = ""
            local = _local_path(source)
            if local is not None and local.is_dir():
                if sha256:
                    raise ModelInstallError("--sha256 checks an archive; the source is a folder")
                default_name = local.name
                shutil.copytree(local, unpacked / local.name, symlinks=False)
            else:
                archive = local if local is not None else _download(source, staging / "download", timeout_s)
                if not archive.is_file():
                    raise ModelInstallError(f"no such file: {archive}")
                digest = _sha256_of(archive)
                if sha256 and digest.lower() != sha256.lower():
                    raise ChecksumMismatchError(f"SHA-256 of {source} is {digest}, expected {sha256.lower()}")
                default_name = _archive_stem(_source_filename(source))
                _unpack(archive, unpacked)
            root = _find_model_root(unpacked)
            if root != unpacked:
                default_name = root.name
            model_name = name or default_name
            if not _NAME.fullmatch(model_name):
                raise ModelInstallError(f"cannot name the model {model_name!r}: pass --name")
            target = self.folder / model_name
            with self._registry_lock():
                if target.exists():
                    if not force:
                        raise ModelInstallError(f"{target} already exists: pass --force to replace it")
                    shutil.rmtree(target)
                root.rename(target)
                model = InstalledModel(
                    name=model_name,
                    language=language,
                    engine="vosk",
                    path=str(target.resolve()),
                    source=source,
                    sha256=digest,
                    size_bytes=_tree_size(target),
                    installed_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                )
                others = [m for m in self.list() if m.name != model_name]
                self._write([*others, model])
            logger.info(f"installed ASR model {model_name} for {language} in {target}")
            return model
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextmanager
    def _registry_lock(self) -> Iterator[None]:
        with open(self.folder / ".models.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _write(self, models: list[InstalledModel]) -> None:
        data = {"version": 1, "models": [asdict(m) for m in models]}
        temporary = self.registry_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, self.registry_path)


def _local_path(source: str) -> Path | None:
    """The local path a source names, or None for a URL to download."""
    if "://" not in source:
        return Path(source).expanduser()
    scheme = source.split("://", 1)[0].lower()
    if scheme in ("http", "https", "file"):
        return None
    raise ModelInstallError(f"unsupported source {source!r}: use http(s)://, file:// or a local path")


def _source_filename(source: str) -> str:
    return PurePosixPath(urllib.parse.urlparse(source).path if "://" in source else source).name


def _archive_stem(filename: str) -> str:
    for suffix in _ARCHIVE_SUFFIXES:
        if filename.lower().endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def _download(url: str, target: Path, timeout_s: float) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(target, "wb") as out:
            while chunk := response.read(DOWNLOAD_CHUNK_BYTES):
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ModelInstallError(f"could not fetch {url}: {error}") from error
    return target


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(DOWNLOAD_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _check_member_name(name: str) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or ".." in parts:
        raise UnsafeArchiveError(f"archive member {name!r} would land outside the models folder")


def _unpack(archive: Path, destination: Path) -> None:
    destination.mkdir(parents=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            total = 0
            for info in zf.infolist():
                _check_member_name(info.filename)
                mode = info.external_attr >> 16
                if mode and (mode & 0o170000) not in (0, 0o100000, 0o040000):
                    raise UnsafeArchiveError(f"archive member {info.filename!r} is a link or device")
                total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                raise UnsafeArchiveError(f"archive unpacks to {total} bytes, more than {MAX_UNPACKED_BYTES}")
            zf.extractall(destination)
        return
    try:
        is_tar = tarfile.is_tarfile(archive)
    except OSError:
        is_tar = False
    if not is_tar:
        raise ModelInstallError(f"{archive.name} is neither a zip nor a tar archive")
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _check_member_name(member.name)
                if not (member.isfile() or member.isdir()):
                    raise UnsafeArchiveError(f"archive member {member.name!r} is a link or device")
            if sum(m.size for m in members) > MAX_UNPACKED_BYTES:
                raise UnsafeArchiveError(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            tf.extractall(destination, filter="data")
    except tarfile.FilterError as error:
        raise UnsafeArchiveError(f"unsafe archive member: {error}") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ModelInstallError(f"{archive.name} is damaged: {error}") from error


def _find_model_root(unpacked: Path) -> Path:
    """The model folder inside what was unpacked: itself or a folder up to two levels down."""
    candidates = [unpacked, *sorted(p for p in unpacked.glob("*") if p.is_dir())]
    candidates += sorted(p for p in unpacked.glob("*/*") if p.is_dir())
    for folder in candidates:
        if is_vosk_model_folder(folder):
            return folder
    raise ModelInstallError("no Vosk model inside (no folder with am/final.mdl)")


def _tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
