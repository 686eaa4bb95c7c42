"""Audio in: PCM16 mono chunks from a microphone, a WAV file or a stream fed by a caller.

Every source yields little-endian 16-bit mono PCM at its `sample_rate`. `read()` blocks at
most `timeout_s` and returns b"" when nothing arrived, None once the source has ended.
Sources are read by one consumer thread; `StreamSource.push` and the microphone's
PortAudio callback may run on any other thread (a bounded queue joins them).

WAV helpers validate what they read (format, sample rate, truncation) and raise the
speech error tree's AudioFormatError / TruncatedAudioError with a message naming the file.
"""

from __future__ import annotations

import logging
import math
import queue
import time
import wave
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service_desk_robot.speech.errors import (
    AudioDeviceError,
    AudioFormatError,
    SpeechError,
    TruncatedAudioError,
)

logger = logging.getLogger(__name__)

SAMPLE_WIDTH_BYTES = 2  # PCM16
WAV_HEADER_BYTES = 44  # canonical RIFF/WAVE header written by `wave`


@dataclass(frozen=True)
class WavInfo:
    path: Path
    sample_rate: int
    frames: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def read_wav(path: Path, expected_rate: int | None = None) -> tuple[bytes, WavInfo]:
    """PCM16 mono frames of a WAV file, checked: format, rate (when given), completeness."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, frames = (
                wav.getnchannels(),
                wav.getsampwidth(),
                wav.getframerate(),
                wav.getnframes(),
            )
            pcm = wav.readframes(frames)
    except FileNotFoundError as error:
        raise AudioFormatError(f"{path}: no such WAV file") from error
    except EOFError as error:
        raise TruncatedAudioError(f"{path}: WAV header is truncated") from error
    except wave.Error as error:
        raise AudioFormatError(f"{path}: not a PCM WAV file ({error})") from error
    if channels != 1 or width != SAMPLE_WIDTH_BYTES:
        raise AudioFormatError(
            f"{path}: need 16-bit mono PCM, got {channels} channel(s) of {width * 8}-bit samples"
        )
    if expected_rate is not None and rate != expected_rate:
        raise AudioFormatError(f"{path}: sample rate {rate} Hz, the recogniser needs {expected_rate} Hz")
    if len(pcm) != frames * SAMPLE_WIDTH_BYTES:
        raise TruncatedAudioError(
            f"{path}: truncated, header announces {frames} frames but {len(pcm) // 2} are present"
        )
    return pcm, WavInfo(path, rate, frames)


def write_wav(path: Path, pcm: bytes, sample_rate: int) -> WavInfo:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH_BYTES)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
    return WavInfo(Path(path), sample_rate, len(pcm) // SAMPLE_WIDTH_BYTES)


def level_dbfs(pcm: bytes) -> float:
    """RMS level of PCM16 audio in dB relative to full scale (-inf for digital silence)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(samples * samples)))
    return 20.0 * math.log10(rms / 32768.0) if rms > 0 else -math.inf


def check_pcm(pcm: bytes) -> None:
    if len(pcm) % SAMPLE_WIDTH_BYTES:
        raise AudioFormatError(f"PCM16 chunk of odd length {len(pcm)} bytes")


class AudioSource(ABC):
    """A stream of PCM16 mono chunks at `sample_rate` Hz."""

    sample_rate: int

    @abstractmethod
    def read(self, timeout_s: float) -> bytes | None:
        """Next chunk; b"" when none arrived within `timeout_s`; None when the source ended."""

    def close(self) -> None:  # noqa: B027 - sources without resources need nothing
        """Release the device or file; a blocked read() returns None soon after."""


class WavFileSource(AudioSource):
    """A WAV file cut into chunks, as fast as it is read or paced in real time."""

    def __init__(
        self,
        path: Path,
        *,
        expected_rate: int | None = None,
        chunk_ms: int = 100,
        realtime: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._pcm, self.info = read_wav(path, expected_rate)
        self.sample_rate = self.info.sample_rate
        self._chunk_bytes = max(1, self.sample_rate * chunk_ms // 1000) * SAMPLE_WIDTH_BYTES
        self._offset = 0
        self._realtime = realtime
        self._sleep = sleep
        self._closed = False

    def read(self, timeout_s: float) -> bytes | None:
        del timeout_s  # a file never waits
        if self._closed or self._offset >= len(self._pcm):
            return None
        chunk = self._pcm[self._offset : self._offset + self._chunk_bytes]
        self._offset += len(chunk)
        if self._realtime:
            self._sleep(len(chunk) / SAMPLE_WIDTH_BYTES / self.sample_rate)
        return chunk

    def close(self) -> None:
        self._closed = True


class StreamSource(AudioSource):
    """Chunks pushed by another thread (the simulator's audio topic, a socket reader).

    The queue is bounded so a stalled consumer costs memory only up to `max_chunks`;
    beyond that the oldest chunk is dropped and counted in `overflowed`.
    """

    def __init__(self, sample_rate: int, max_chunks: int = 500) -> None:
        self.sample_rate = sample_rate
        self._queue: queue.Queue[bytes | None] = queue.Queue(max_chunks)
        self.overflowed = 0

    def push(self, pcm: bytes, sample_rate: int | None = None) -> None:
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise AudioFormatError(
                f"audio stream at {sample_rate} Hz, the recogniser needs {self.sample_rate} Hz"
            )
        check_pcm(pcm)
        self._put(pcm)

    def _put(self, item: bytes | None) -> None:
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.overflowed += 1
                except queue.Empty:
                    pass

    def read(self, timeout_s: float) -> bytes | None:
        try:
            return self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return b""

    def close(self) -> None:
        self._put(None)


class MicrophoneSource(StreamSource):
    """The default (or named) input device through PortAudio (sounddevice).

    Opening fails with AudioDeviceError when there is no sound card or PortAudio library.
    """

    def __init__(self, sample_rate: int, *, device: str | int | None = None, chunk_ms: int = 100) -> None:
        super().__init__(sample_rate)
        try:
            import sounddevice
        except OSError as error:  # libportaudio2 missing
            raise AudioDeviceError(f"PortAudio is not available: {error}") from error
        self._stream = None
        try:
            self._stream = sounddevice.RawInputStream(
                samplerate=sample_rate,
                blocksize=sample_rate * chunk_ms // 1000,
                device=device,
                channels=1,
                dtype="int16",
                callback=self._on_audio,
            )
            self._stream.start()
        except (sounddevice.PortAudioError, ValueError) as error:
            raise AudioDeviceError(f"no usable microphone (device={device!r}): {error}") from error

    def _on_audio(self, data: object, frames: int, time_info: object, status: object) -> None:
        del frames, time_info
        if status:
            logger.warning(f"microphone: {status}")
        self._put(bytes(data))

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception as error:  # noqa: BLE001 - closing must not fail shutdown
                logger.warning(f"closing the microphone failed: {error!r}")
            self._stream = None
        super().close()


def open_source(kind: str, sample_rate: int, *, wav_path: str = "", device: str = "") -> AudioSource:
    """The source named by a node's `source` parameter: microphone, wav or stream."""
    if kind == "microphone":
        return MicrophoneSource(sample_rate, device=device or None)
    if kind == "wav":
        return WavFileSource(Path(wav_path), expected_rate=sample_rate, realtime=True)
    if kind == "stream":
        return StreamSource(sample_rate)
    raise SpeechError(f"unknown audio source {kind!r}: use microphone, wav or stream")
