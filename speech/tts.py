"""Text to speech on pyttsx3 (espeak-ng), always to a WAV file.

pyttsx3 2.99 cannot be trusted to say when audio ends: `runAndWait()` may return before
the WAV exists, `say()` returns while audio still plays, and after `save_to_file()` later
`say()` calls write to the old file. So every utterance is synthesised with
`save_to_file`, we wait for its `finished-utterance` event, check that the WAV is really
there and complete, and leave playing it to an AudioSink (speech/output.py): the caller
then knows exactly when speech starts and ends.

The espeak driver prints "Audio saved to ..." on stdout from espeak's own thread, drops
the audio that arrives with espeak's last callback, and its stop() (called at the end of
every run loop) can cancel the next utterance (empty WAVs): `_patch_espeak_driver` fixes
these before the engine is built.

Codes and long numbers are spelt one character at a time ("A042" -> "A, 0, 4, 2"):
espeak-ng's Vietnamese voice clips or crashes on long numbers, and visitors need
queue numbers digit by digit anyway.

Threading: one pyttsx3 engine per process (`_Espeak`), used under a lock; synthesize() may
be called from any thread.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.speech.audio import WavInfo, read_wav
from service_desk_robot.speech.errors import AudioError, SynthesisError, UnknownLanguageError

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\w./-]*\d[\w./-]*")
IDLE_POLL_S = 0.002
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


class _Espeak:
    """The process's one pyttsx3 engine (espeak-ng itself is one per process), under a lock.

    Every Synthesizer shares it, so two never interleave properties or callbacks.
    """

    _instance: _Espeak | None = None
    _create_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import pyttsx3
            from pyttsx3.drivers import _espeak

            _patch_espeak_driver()
            self.engine = pyttsx3.init("espeak")
        except (ImportError, RuntimeError, OSError) as error:
            raise SynthesisError(
                f"pyttsx3/espeak-ng is not usable (install espeak-ng libespeak-ng1): {error}"
            ) from error
        self._is_playing = _espeak.IsPlaying
        self._cancel = _espeak.Cancel
        self._set_property = importlib.import_module("pyttsx3.drivers.espeak").EspeakDriver.setProperty
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.completed = False
        self.engine.connect("finished-utterance", self._on_finished)
        self.voice_ids = {v.id for v in self.engine.getProperty("voices")}

    @classmethod
    def get(cls) -> _Espeak:
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _on_finished(self, name: object = None, completed: bool = True) -> None:
        del name
        self.completed = completed
        self.finished.set()

    def wait_idle(self, timeout_s: float) -> None:
        """Wait until espeak has really finished the last utterance.

        finished-utterance fires inside espeak's callback, before espeak itself is idle;
        starting the next utterance then makes pyttsx3's endLoop see "playing" and cancel
        the new one (truncated audio). Polling: espeak offers no event for this.
        """
        deadline = time.monotonic() + timeout_s
        while self._is_playing() and time.monotonic() < deadline:
            time.sleep(IDLE_POLL_S)

    def synthesize(self, spoken: str, voice: Voice, path: Path, timeout_s: float) -> None:
        with self.lock:
            self.wait_idle(timeout_s)
            # Straight to espeak, not through pyttsx3's command queue, which may run them
            # later on espeak's callback thread.
            for name, value in (
                ("voice", voice.voice_id),
                ("rate", voice.rate_wpm),
                ("volume", voice.volume),
            ):
                self._set_property(name, value)
            self.finished.clear()
            self.completed = False
            self.engine.save_to_file(spoken, str(path))
            self.engine.runAndWait()
            # runAndWait may return early: the event is what says the WAV is written.
            if not self.finished.wait(timeout_s):
                self._cancel()
                raise SynthesisError(f"espeak-ng did not finish within {timeout_s} s: {spoken[:60]!r}")
            self.wait_idle(timeout_s)
            if not self.completed:
                raise SynthesisError(f"espeak-ng stopped before the end of {spoken[:60]!r}")


class Synthesizer:
    """pyttsx3/espeak-ng: `synthesize(text, language, path)` writes a complete WAV."""

    def __init__(
        self, voices: Mapping[str, Voice], *, max_whole_number_digits: int = 3, timeout_s: float = 15.0
    ) -> None:
        self.voices = dict(voices)
        self._max_digits = max_whole_number_digits
        self._timeout_s = timeout_s
        self._espeak = _Espeak.get()
        missing = {
            lang: v.voice_id
            for lang, v in self.voices.items()
            if v.voice_id.lower() not in self._espeak.voice_ids
        }
        if missing:
            raise SynthesisError(f"espeak-ng has no voice for {missing}")

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
        self._espeak.synthesize(spoken, voice, path, self._timeout_s)
        try:
            _, info = read_wav(path)
        except AudioError as error:
            raise SynthesisError(f"espeak-ng wrote no complete WAV: {error}") from error
        if info.frames == 0:
            raise SynthesisError(f"espeak-ng produced no audio for {spoken[:60]!r}")
        return info


def _patch_espeak_driver() -> None:
    """Fixes to pyttsx3 2.99's espeak driver, applied before its engine is built.

    - Its module-level `print` ("Audio saved to ...", from espeak's thread) goes to our
      logger instead of stdout.
    - Its synth callback writes the WAV when it sees the end-of-message event and only
      then appends the samples that came with that same callback: the last chunk of audio
      (up to the whole utterance when it arrives in one callback) is lost. The wrapper
      appends those samples first.
    """

    from pyttsx3.drivers import _espeak

    driver = importlib.import_module("pyttsx3.drivers.espeak")

    def quiet(*args: object, **kwargs: object) -> None:
        del kwargs
        logger.debug(" ".join(str(a) for a in args))

    driver.print = quiet
    original = driver.EspeakDriver._onSynth
    if getattr(original, "keeps_last_chunk", False):
        return

    def on_synth(self: object, wav: object, numsamples: int, events: object) -> int:
        if numsamples > 0 and self._speaking and _ends_message(events, _espeak):
            self._data_buffer += ctypes.string_at(wav, numsamples * ctypes.sizeof(ctypes.c_short))
            numsamples = 0
        return original(self, wav, numsamples, events)

    def stop(self: object) -> None:
        """Never cancel through pyttsx3 (timeouts call espeak's Cancel directly).

        pyttsx3 calls stop() from every endLoop, sometimes on espeak's callback thread
        while the previous utterance still counts as playing: that cancels the *next*
        utterance, which then ends at once with an empty WAV.
        """
        del self

    on_synth.keeps_last_chunk = True
    driver.EspeakDriver._onSynth = on_synth
    driver.EspeakDriver.stop = stop


def _ends_message(events: object, espeak: object) -> bool:
    i = 0
    while events[i].type != espeak.EVENT_LIST_TERMINATED:
        if events[i].type == espeak.EVENT_MSG_TERMINATED:
            return True
        i += 1
    return False
