"""One voice for the robot: synthesise, play, report progress; cancel and pre-empt.

`Speaker.request(text, language)` makes a `SpeechRequest` and pre-empts whatever is being
said; `speak(request)` then blocks until the request has been spoken, cancelled,
pre-empted or has failed, and returns a `SpeechResult`. `on_speaking(True)` is called
right after playback starts and `on_speaking(False)` right after it ends, so the
listener (ASR) can ignore exactly the robot's own voice.

Threading: speak() may be called from several threads (one per action goal); a turn
lock lets one request play at a time, and a newer request always wins. cancel() and
pre-emption only set a flag that the speaking thread sees within `poll_s`.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.speech.errors import AudioError, SynthesisError, UnknownLanguageError
from service_desk_robot.speech.output import AudioSink
from service_desk_robot.speech.tts import Synthesizer

logger = logging.getLogger(__name__)

# Stable error codes (the Say action's result.error_code).
CANCELED = "CANCELED"
PREEMPTED = "PREEMPTED"
SYNTHESIS_FAILED = "SYNTHESIS_FAILED"
UNKNOWN_LANGUAGE = "UNKNOWN_LANGUAGE"
PLAYBACK_FAILED = "PLAYBACK_FAILED"


@dataclass(frozen=True)
class SpeechResult:
    error_code: str  # "" when spoken to the end
    message: str
    spoken_s: float  # how long audio actually played
    total_s: float  # how long the whole utterance lasts

    @property
    def success(self) -> bool:
        return not self.error_code


class SpeechRequest:
    def __init__(self, number: int, text: str, language: str) -> None:
        self.number = number
        self.text = text
        self.language = language
        self._stop_code = ""
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._end(CANCELED)

    def preempt(self) -> None:
        self._end(PREEMPTED)

    def _end(self, code: str) -> None:
        if not self._stop.is_set():
            self._stop_code = code
            self._stop.set()

    @property
    def stop_code(self) -> str:
        return self._stop_code

    def wait_stopped(self, timeout_s: float) -> bool:
        return self._stop.wait(timeout_s)


class Speaker:
    def __init__(
        self,
        synthesizer: Synthesizer,
        sink: AudioSink,
        work_dir: Path,
        *,
        on_speaking: Callable[[bool], None] = lambda speaking: None,
        clock: Callable[[], float] = time.monotonic,
        poll_s: float = 0.05,
    ) -> None:
        self._synthesizer = synthesizer
        self._sink = sink
        self._work_dir = Path(work_dir)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        self._on_speaking = on_speaking
        self._clock = clock
        self._poll_s = poll_s
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()  # guards _current
        self._turn = threading.Lock()  # one request plays at a time
        self._current: SpeechRequest | None = None
        self.spoken_count = 0
        self.failed_count = 0
        self.last_error = ""

    def request(self, text: str, language: str) -> SpeechRequest:
        """A new request; whatever is being said (or waiting to be) is pre-empted."""
        with self._lock:
            if self._current is not None:
                self._current.preempt()
            self._current = SpeechRequest(next(self._numbers), text, language)
            return self._current

    def speak(
        self,
        request: SpeechRequest,
        on_progress: Callable[[float, float], None] = lambda elapsed, total: None,
    ) -> SpeechResult:
        with self._turn:
            try:
                return self._speak(request, on_progress)
            finally:
                with self._lock:
                    if self._current is request:
                        self._current = None

    def _speak(self, request: SpeechRequest, on_progress: Callable[[float, float], None]) -> SpeechResult:
        if request.stop_code:
            return SpeechResult(request.stop_code, f"{request.stop_code.lower()} before it started", 0.0, 0.0)
        path = self._work_dir / f"say-{request.number:05d}-{request.language}.wav"
        try:
            wav = self._synthesizer.synthesize(request.text, request.language, path)
        except UnknownLanguageError as error:
            return self._failed(UNKNOWN_LANGUAGE, str(error))
        except SynthesisError as error:
            return self._failed(SYNTHESIS_FAILED, str(error))
        if request.stop_code:
            path.unlink(missing_ok=True)
            return SpeechResult(
                request.stop_code, f"{request.stop_code.lower()} before it started", 0.0, wav.duration_s
            )
        try:
            playback = self._sink.start(wav)
        except AudioError as error:
            path.unlink(missing_ok=True)
            return self._failed(PLAYBACK_FAILED, str(error))
        started = self._clock()
        self._on_speaking(True)
        try:
            while True:
                try:
                    if playback.wait(self._poll_s):
                        break
                except AudioError as error:
                    return self._failed(
                        PLAYBACK_FAILED, str(error), self._clock() - started, playback.duration_s
                    )
                if request.wait_stopped(0):
                    playback.stop()
                    playback.wait(self._poll_s * 10)
                    elapsed = self._clock() - started
                    return SpeechResult(
                        request.stop_code,
                        f"{request.stop_code.lower()} after {elapsed:.2f} s",
                        elapsed,
                        playback.duration_s,
                    )
                on_progress(self._clock() - started, playback.duration_s)
        finally:
            self._on_speaking(False)
            path.unlink(missing_ok=True)
        elapsed = self._clock() - started
        on_progress(elapsed, playback.duration_s)
        self.spoken_count += 1
        return SpeechResult("", "spoken", elapsed, playback.duration_s)

    def _failed(self, code: str, message: str, spoken_s: float = 0.0, total_s: float = 0.0) -> SpeechResult:
        logger.error(f"speech failed ({code}): {message}")
        self.failed_count += 1
        self.last_error = message
        return SpeechResult(code, message, spoken_s, total_s)
