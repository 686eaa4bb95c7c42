"""Audio out: play a WAV and know exactly when it stops.

- `AplaySink` plays through ALSA's `aplay` (alsa-utils); with no sound card aplay fails
  at once and `wait()` raises PlaybackError saying so.
- `FolderSink` is the simulator's speaker: it copies each WAV into a folder and "plays"
  it in simulated real time (its duration divided by `time_scale`, the factor by which
  simulated time runs faster than the wall clock, as everywhere in the simulator), so
  speaking lasts as long as the audio would.

`start(wav)` returns a `Playback`; `wait(timeout_s)` returns True once playback has
ended (raising PlaybackError if it failed); `stop()` cuts it short. One Playback is used
by one thread; `stop()` may come from another.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from service_desk_robot.speech.audio import WavInfo
from service_desk_robot.speech.errors import AudioDeviceError, PlaybackError

OUTPUTS = ("audio", "folder")


class Playback(ABC):
    duration_s: float  # how long the audio lasts when played to the end

    @abstractmethod
    def wait(self, timeout_s: float) -> bool: ...

    @abstractmethod
    def stop(self) -> None: ...


class AudioSink(ABC):
    @abstractmethod
    def start(self, wav: WavInfo) -> Playback: ...


class _AplayPlayback(Playback):
    def __init__(self, process: subprocess.Popen[bytes], duration_s: float, device: str) -> None:
        self._process = process
        self.duration_s = duration_s
        self._device = device
        self._stopped = False

    def wait(self, timeout_s: float) -> bool:
        try:
            code = self._process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        stderr = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
        if code != 0 and not self._stopped:
            last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {code}"
            raise PlaybackError(
                f"aplay could not play on {self._device or 'the default device'} (no sound card?): {last}"
            )
        return True

    def stop(self) -> None:
        self._stopped = True
        if self._process.poll() is None:
            self._process.terminate()


class AplaySink(AudioSink):
    def __init__(self, device: str = "", binary: str = "aplay") -> None:
        path = shutil.which(binary)
        if path is None:
            raise AudioDeviceError(f"{binary} not found: install alsa-utils")
        self._binary = path
        self._device = device

    def start(self, wav: WavInfo) -> Playback:
        command = [self._binary, "-q", *(["-D", self._device] if self._device else []), str(wav.path)]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:
            raise PlaybackError(f"could not start aplay: {error}") from error
        return _AplayPlayback(process, wav.duration_s, self._device)


class _TimedPlayback(Playback):
    def __init__(self, duration_s: float, clock: Callable[[], float]) -> None:
        self.duration_s = duration_s
        self._clock = clock
        self._end = clock() + duration_s
        self._stopped = threading.Event()

    def wait(self, timeout_s: float) -> bool:
        remaining = self._end - self._clock()
        if remaining <= 0 or self._stopped.is_set():
            return True
        return self._stopped.wait(min(timeout_s, remaining)) or self._clock() >= self._end

    def stop(self) -> None:
        self._stopped.set()


class FolderSink(AudioSink):
    """Writes WAVs to `folder` (numbered, so the order survives) and plays them in simulated time."""

    def __init__(
        self, folder: Path, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.time_scale = time_scale
        self._clock = clock
        self._count = len(list(self.folder.glob("*.wav")))
        self._lock = threading.Lock()
        self.written: list[Path] = []

    def start(self, wav: WavInfo) -> Playback:
        with self._lock:
            self._count += 1
            target = self.folder / f"{self._count:05d}-{wav.path.stem}.wav"
        shutil.copyfile(wav.path, target)
        self.written.append(target)
        return _TimedPlayback(wav.duration_s / self.time_scale, self._clock)


def create_sink(output: str, *, device: str = "", folder: str = "", time_scale: float = 1.0) -> AudioSink:
    """The sink named by the tts node's `output` parameter."""
    if output == "audio":
        return AplaySink(device)
    if output == "folder":
        if not folder:
            raise AudioDeviceError("output 'folder' needs an output folder")
        return FolderSink(Path(folder).expanduser(), time_scale)
    raise AudioDeviceError(f"unknown output {output!r}: use one of {', '.join(OUTPUTS)}")
