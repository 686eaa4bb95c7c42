"""Text to speech on pyttsx3 (espeak-ng), always to a WAV file.

pyttsx3 2.99 cannot be trusted to say when audio ends: `runAndWait()` may return before
the WAV exists, `say()` returns while audio still plays, and after `save_to_file()` later
`say()` calls write to the old file. So every utterance is synthesised with
`save_to_file`, we wait for its `finished-utterance` event, check that the WAV is really
there and complete, and leave playing it to an AudioSink (speech/output.py): the caller
then knows exactly when speech starts and ends.

The espeak driver prints "Audio saved to ..." on stdout from espeak's own thread; its
module-level `print` is routed to this module's logger (debug) instead, so nothing
reaches our stdout.

Codes and long numbers are spelt one character at a time ("A042" -> "A, 0, 4, 2"):
espeak-ng's Vietnamese voice clips or crashes on long numbers, and visitors need
queue numbers digit by digit anyway.

Threading: one pyttsx3 engine per process, used under a lock; synthesize() may be called
from any thread.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.speech.audio import WavInfo, read_wav
from service_desk_robot.speech.errors import AudioError, SynthesisError, UnknownLanguageError

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\w./-]*\d[\w./-]*")
SYNTHESIS_ATTEMPTS = 3
_GROUPED_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+")  # 50.000, 1.500.000: read as amounts


@dataclass(frozen=True)
class Voice:
    voice_id: str  # espeak-ng voice, e.g. "aav/vi" or "gmw/en-us"
    rate_wpm: int = 150
    volume: float = 1.0  # 0..1


def spell_out_codes(text: str, max_whole_number_digits: int = 3) -> str:
    """Split codes and long numbers into single characters separated by commas.

    A token with a digit is spelt out when it also has letters or separators (A042,
    HS-2024-00123) or has more than `max_whole_number_digits` digits; short numbers
    ("quầy 3", "15 phút") and grouped amounts ("50.000") stay words.
    """

    def spell(match: re.Match[str]) -> str:
        token = match.group(0)
        core = token.rstrip(".,")  # sentence punctuation after a code is not part of it
        tail = token[len(core) :]
        if _GROUPED_AMOUNT.fullmatch(core) or (core.isdigit() and len(core) <= max_whole_number_digits):
            return token
        return ", ".join(c for c in core if c.isalnum()) + tail

    return _TOKEN.sub(spell, text)


class Synthesizer:
    """pyttsx3/espeak-ng: `synthesize(text, language, path)` writes a complete WAV."""

    def __init__(
        self, voices: Mapping[str, Voice], *, max_whole_number_digits: int = 3, timeout_s: float = 15.0
    ) -> None:
        self.voices = dict(voices)
        self._max_digits = max_whole_number_digits
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._completed = False
        try:
            import pyttsx3

            _silence_driver_prints()
            self._engine = pyttsx3.init("espeak")
        except (ImportError, RuntimeError, OSError) as error:
            raise SynthesisError(
                f"pyttsx3/espeak-ng is not usable (install espeak-ng libespeak-ng1): {error}"
            ) from error
        self._engine.connect("finished-utterance", self._on_finished)
        available = {v.id for v in self._engine.getProperty("voices")}
        missing = {lang: v.voice_id for lang, v in self.voices.items() if v.voice_id.lower() not in available}
        if missing:
            raise SynthesisError(f"espeak-ng has no voice for {missing}")

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        del name
        # A late completed=False (pyttsx3 stopping an already finished loop) must not undo
        # the completed=True before it.
        self._completed = self._completed or completed
        self._finished.set()

    def synthesize(self, text: str, language: str, path: Path) -> WavInfo:
        voice = self.voices.get(language)
        if voice is None:
            raise UnknownLanguageError(
                f"no voice configured for language {language!r} (have {sorted(self.voices)})"
            )
        spoken = spell_out_codes(text, self._max_digits).strip()
        if not spoken:
            raise SynthesisError("nothing to say: the text is empty")
        path = Path(path)
        path.unlink(missing_ok=True)  # an old file must never pass for the new one
        with self._lock:
            self._engine.setProperty("voice", voice.voice_id)
            self._engine.setProperty("rate", voice.rate_wpm)
            self._engine.setProperty("volume", voice.volume)
            # pyttsx3's queued endLoop can cancel espeak mid-utterance (finished-utterance
            # with completed=False, no WAV): one retry covers it.
            for _attempt in range(SYNTHESIS_ATTEMPTS):
                self._finished.clear()
                self._completed = False
                self._engine.save_to_file(spoken, str(path))
                self._engine.runAndWait()
                # runAndWait may return early: the event is what says the WAV is written.
                if not self._finished.wait(self._timeout_s):
                    self._engine.stop()
                    raise SynthesisError(
                        f"espeak-ng did not finish within {self._timeout_s} s: {spoken[:60]!r}"
                    )
                if self._completed:
                    break
            else:
                raise SynthesisError(f"espeak-ng stopped before the end of {spoken[:60]!r}")
        try:
            _, info = read_wav(path)
        except AudioError as error:
            raise SynthesisError(f"espeak-ng wrote no complete WAV: {error}") from error
        if info.frames == 0:
            raise SynthesisError(f"espeak-ng produced no audio for {spoken[:60]!r}")
        return info


def _silence_driver_prints() -> None:
    driver = importlib.import_module("pyttsx3.drivers.espeak")

    def quiet(*args: object, **kwargs: object) -> None:
        del kwargs
        logger.debug(" ".join(str(a) for a in args))

    driver.print = quiet
