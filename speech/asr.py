"""Streaming speech recognition: engine decoders behind one interface, plus endpointing.

- `Decoder` is one engine's recogniser for one language (Vosk, or pocketsphinx for
  offline English demos): fed PCM16, it gives a partial text and, when told the
  utterance ended, a final text with a confidence. Optional grammar: the phrases the
  dialogue expects.
- `Endpointer` decides where utterances start and end from the audio level, the same for
  every engine: an utterance ends after `endpoint_silence_s` of trailing silence (or at
  `max_utterance_s`). Silence between utterances never reaches the decoders.
- `Recognizer` joins them: `feed(pcm)` returns the partial and final `Hypothesis`es that
  chunk produced. With decoders for several languages it feeds them all and keeps the
  final with the best confidence.

Threading: a Recognizer and its decoders belong to one thread (the node's audio worker).
Loaded Vosk models are cached per path and shared, read-only, between recognisers
(loading takes seconds and hundreds of MB).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from service_desk_robot.speech.audio import SAMPLE_WIDTH_BYTES, check_pcm, level_dbfs
from service_desk_robot.speech.errors import ModelInvalidError, ModelNotFoundError, RecognitionError

logger = logging.getLogger(__name__)

ENGINES = ("vosk", "pocketsphinx")
VOSK_UNKNOWN_WORD = "[unk]"


@dataclass(frozen=True)
class Segment:
    text: str
    confidence: float  # 0..1


@dataclass(frozen=True)
class Hypothesis:
    text: str
    language: str
    confidence: float  # 0..1; 0 for partials
    final: bool
    speech_end_s: float  # stream time (s) where the last voiced audio of the utterance ended


@dataclass(frozen=True)
class EndpointSettings:
    silence_threshold_dbfs: float = -45.0  # frames louder than this count as speech
    endpoint_silence_s: float = 0.6  # trailing silence that ends an utterance
    min_speech_s: float = 0.09  # voiced time before an utterance starts (ignores clicks)
    max_utterance_s: float = 15.0  # an utterance is cut here, however loud the room
    pre_roll_s: float = 0.3  # audio kept from before the start, so first phonemes survive
    frame_ms: int = 30


class Decoder(ABC):
    """One engine recognising one language; see the module docstring."""

    language: str
    sample_rate: int

    @abstractmethod
    def accept(self, pcm: bytes) -> None: ...

    @abstractmethod
    def partial(self) -> str: ...

    @abstractmethod
    def finish(self) -> Segment:
        """End the utterance: its final text and confidence; the decoder is ready for the next."""

    @abstractmethod
    def reset(self) -> None:
        """Drop the utterance in progress (e.g. the robot's own voice)."""

    @abstractmethod
    def set_grammar(self, phrases: Sequence[str] | None) -> None:
        """Restrict recognition to these phrases; None or empty: free-form."""


# --- Vosk -------------------------------------------------------------------------------

_vosk_models: dict[Path, object] = {}
_vosk_lock = threading.Lock()


def is_vosk_model_folder(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def load_vosk_model(path: Path | str) -> object:
    """The vosk.Model in `path`, loaded once per process (cached by resolved path).

    Always a path: vosk.Model(lang=...) would try to download, which fails here.
    """
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"no Vosk model folder at {path} (install one with `service-desk-robot models install`)"
        )
    if not is_vosk_model_folder(path):
        raise ModelInvalidError(f"{path} is not a Vosk model folder (no am/final.mdl)")
    with _vosk_lock:
        model = _vosk_models.get(path)
        if model is None:
            import vosk

            vosk.SetLogLevel(-1)  # Kaldi logs to stderr by default: keep errors as exceptions only
            try:
                model = vosk.Model(model_path=str(path))
            except Exception as error:
                raise ModelInvalidError(f"Vosk could not load the model at {path}: {error}") from error
            _vosk_models[path] = model
            logger.info(f"loaded Vosk model {path}")
        return model


def grammar_json(phrases: Sequence[str]) -> str:
    """Vosk grammar: ensure_ascii=False, else every word with diacritics is dropped as unknown."""
    return json.dumps(list(phrases), ensure_ascii=False)


class VoskDecoder(Decoder):
    def __init__(
        self, model_path: Path | str, language: str, sample_rate: int, grammar: Sequence[str] | None = None
    ) -> None:
        import vosk

        self._model = load_vosk_model(model_path)
        self.language = language
        self.sample_rate = sample_rate
        self._grammar = list(grammar or [])
        try:
            self._recognizer = vosk.KaldiRecognizer(self._model, float(sample_rate))
        except Exception as error:
            raise RecognitionError(f"Vosk recogniser for {language}: {error}") from error
        self._recognizer.SetWords(True)  # per-word confidences
        if self._grammar:
            self.set_grammar(self._grammar)
        self._segments: list[Segment] = []

    def set_grammar(self, phrases: Sequence[str] | None) -> None:
        words = [p.strip() for p in phrases or [] if p.strip()]
        if not words:
            # No way back to free-form on one KaldiRecognizer: make a fresh one.
            import vosk

            self._recognizer = vosk.KaldiRecognizer(self._model, float(self.sample_rate))
            self._recognizer.SetWords(True)
            self._grammar = []
            return
        # "[unk]" lets out-of-grammar speech be unknown instead of forced onto a phrase,
        # when the model has it.
        if self._model.vosk_model_find_word(VOSK_UNKNOWN_WORD) >= 0:
            words.append(VOSK_UNKNOWN_WORD)
        self._recognizer.SetGrammar(grammar_json(words))
        self._grammar = words

    def accept(self, pcm: bytes) -> None:
        try:
            segment_ended = self._recognizer.AcceptWaveform(pcm)
        except Exception as error:
            raise RecognitionError(f"Vosk failed to decode: {error}") from error
        if segment_ended:  # Vosk's own endpoint inside our utterance: keep it, carry on
            self._segments.append(self._parse(self._recognizer.Result()))

    def partial(self) -> str:
        current = _clean(json.loads(self._recognizer.PartialResult()).get("partial", ""))
        return " ".join(s.text for s in [*self._segments, Segment(current, 0.0)] if s.text)

    def finish(self) -> Segment:
        segments = [*self._segments, self._parse(self._recognizer.FinalResult())]
        self._segments = []
        spoken = [s for s in segments if s.text]
        if not spoken:
            return Segment("", 0.0)
        words = sum(len(s.text.split()) for s in spoken)
        confidence = sum(s.confidence * len(s.text.split()) for s in spoken) / words
        return Segment(" ".join(s.text for s in spoken), confidence)

    def reset(self) -> None:
        self._recognizer.Reset()
        self._segments = []

    @staticmethod
    def _parse(result_json: str) -> Segment:
        result = json.loads(result_json)
        words = [w for w in result.get("result", []) if w.get("word") != VOSK_UNKNOWN_WORD]
        text = " ".join(w["word"] for w in words) if words else _clean(result.get("text", ""))
        if not text:
            return Segment("", 0.0)
        confidence = sum(float(w.get("conf", 0.0)) for w in words) / len(words) if words else 0.0
        return Segment(text, confidence)


def _clean(text: str) -> str:
    return " ".join(w for w in text.split() if w != VOSK_UNKNOWN_WORD)


# --- pocketsphinx (offline English demos) -------------------------------------------------


class PocketsphinxDecoder(Decoder):
    """pocketsphinx 5 with its bundled en-us model (or the folder in `model_path`).

    Free-form accuracy is poor (about 76 % WER); with a grammar of expected sentences it is
    good (about 3 %), so give it the dialogue's phrases.
    """

    _GRAMMAR_NAME = "expected"

    def __init__(
        self,
        model_path: Path | str | None,
        language: str,
        sample_rate: int,
        grammar: Sequence[str] | None = None,
    ) -> None:
        try:
            from pocketsphinx import Decoder as PsDecoder
        except ImportError as error:
            raise ModelNotFoundError("pocketsphinx is not installed") from error
        options: dict[str, object] = {"samprate": sample_rate, "loglevel": "FATAL"}
        if model_path:
            options["hmm"] = str(model_path)
        try:
            self._decoder = PsDecoder(**options)
        except Exception as error:
            raise ModelInvalidError(
                f"pocketsphinx could not load {model_path or 'its en-us model'}: {error}"
            ) from error
        self.language = language
        self.sample_rate = sample_rate
        self._default_search = self._decoder.current_search()
        self._in_utterance = False
        self.set_grammar(grammar)

    def set_grammar(self, phrases: Sequence[str] | None) -> None:
        sentences = [" ".join(p.lower().split()) for p in phrases or [] if p.strip()]
        self._end()
        if not sentences:
            self._decoder.activate_search(self._default_search)
            return
        jsgf = "#JSGF V1.0;\ngrammar expected;\npublic <utterance> = " + " | ".join(sentences) + ";\n"
        try:
            self._decoder.add_jsgf_string(self._GRAMMAR_NAME, jsgf)
        except Exception as error:
            raise RecognitionError(f"pocketsphinx rejected the grammar: {error}") from error
        self._decoder.activate_search(self._GRAMMAR_NAME)

    def accept(self, pcm: bytes) -> None:
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
        self._decoder.process_raw(pcm, False, False)

    def partial(self) -> str:
        hyp = self._decoder.hyp() if self._in_utterance else None
        return hyp.hypstr if hyp else ""

    def finish(self) -> Segment:
        if not self._in_utterance:
            return Segment("", 0.0)
        self._end()
        hyp = self._decoder.hyp()
        if hyp is None or not hyp.hypstr:
            return Segment("", 0.0)
        return Segment(hyp.hypstr, max(0.0, min(1.0, float(self._decoder.get_prob()))))

    def reset(self) -> None:
        self._end()

    def _end(self) -> None:
        if self._in_utterance:
            self._decoder.end_utt()
            self._in_utterance = False


def create_decoder(
    engine: str,
    language: str,
    model_path: Path | str | None,
    sample_rate: int,
    grammar: Sequence[str] | None = None,
) -> Decoder:
    """The decoder named by config (`engine`: vosk or pocketsphinx)."""
    if engine == "vosk":
        if not model_path:
            raise ModelNotFoundError(
                f"no Vosk model for language {language!r}: install one with "
                f"`service-desk-robot models install SOURCE --lang {language}`"
            )
        return VoskDecoder(model_path, language, sample_rate, grammar)
    if engine == "pocketsphinx":
        if not model_path and language != "en":
            raise ModelNotFoundError(
                f"pocketsphinx ships only an en-us model; give a model folder for {language!r}"
            )
        return PocketsphinxDecoder(model_path, language, sample_rate, grammar)
    raise ModelInvalidError(f"unknown ASR engine {engine!r}: use one of {', '.join(ENGINES)}")


# --- endpointing and the streaming recogniser ---------------------------------------------


class Endpointer:
    """Energy-based utterance boundaries on fixed frames; see EndpointSettings."""

    def __init__(self, sample_rate: int, settings: EndpointSettings) -> None:
        self.settings = settings
        self.frame_bytes = sample_rate * settings.frame_ms // 1000 * SAMPLE_WIDTH_BYTES
        self.frame_s = settings.frame_ms / 1000.0
        self.in_utterance = False
        self._voiced_run_s = 0.0
        self._silence_s = 0.0
        self._utterance_s = 0.0

    def step(self, frame: bytes) -> str:
        """Classify one frame: "idle", "start" (this frame starts an utterance), "speech" or "end"."""
        voiced = level_dbfs(frame) > self.settings.silence_threshold_dbfs
        if not self.in_utterance:
            self._voiced_run_s = self._voiced_run_s + self.frame_s if voiced else 0.0
            if self._voiced_run_s >= self.settings.min_speech_s:
                self.in_utterance = True
                self._silence_s = 0.0
                self._utterance_s = self._voiced_run_s
                return "start"
            return "idle"
        self._utterance_s += self.frame_s
        self._silence_s = 0.0 if voiced else self._silence_s + self.frame_s
        if (
            self._silence_s >= self.settings.endpoint_silence_s
            or self._utterance_s >= self.settings.max_utterance_s
        ):
            self.reset()
            return "end"
        return "speech"

    @property
    def trailing_silence_s(self) -> float:
        return self._silence_s

    def reset(self) -> None:
        self.in_utterance = False
        self._voiced_run_s = 0.0
        self._silence_s = 0.0
        self._utterance_s = 0.0


class Recognizer:
    """Endpointing + decoders (one per language); see the module docstring."""

    def __init__(
        self, decoders: Sequence[Decoder], settings: EndpointSettings | None = None, *, partials: bool = True
    ) -> None:
        if not decoders:
            raise ModelNotFoundError("no ASR decoder: no language has a usable model")
        rates = {d.sample_rate for d in decoders}
        if len(rates) != 1:
            raise RecognitionError(f"decoders disagree on the sample rate: {sorted(rates)}")
        self.decoders = list(decoders)
        self.sample_rate = rates.pop()
        self.endpointer = Endpointer(self.sample_rate, settings or EndpointSettings())
        self._partials = partials
        self._remainder = b""
        pre_roll_frames = max(1, round(self.endpointer.settings.pre_roll_s / self.endpointer.frame_s))
        self._pre_roll: deque[bytes] = deque(maxlen=pre_roll_frames)
        self._last_partial: dict[str, str] = {}
        self._stream_s = 0.0  # audio time consumed so far
        self._last_voiced_end_s = 0.0

    @property
    def in_utterance(self) -> bool:
        return self.endpointer.in_utterance

    def set_grammar(self, phrases: Sequence[str] | None, language: str | None = None) -> None:
        for decoder in self.decoders:
            if language is None or decoder.language == language:
                decoder.set_grammar(phrases)

    def feed(self, pcm: bytes) -> list[Hypothesis]:
        check_pcm(pcm)
        data = self._remainder + pcm
        usable = len(data) - len(data) % self.endpointer.frame_bytes
        self._remainder = data[usable:]
        out: list[Hypothesis] = []
        pending: list[bytes] = []  # frames for the decoders, sent in one call per event
        for offset in range(0, usable, self.endpointer.frame_bytes):
            frame = data[offset : offset + self.endpointer.frame_bytes]
            self._stream_s += self.endpointer.frame_s
            state = self.endpointer.step(frame)
            if state in ("start", "speech") and self.endpointer.trailing_silence_s == 0.0:
                self._last_voiced_end_s = self._stream_s
            if state == "idle":
                self._pre_roll.append(frame)
            elif state == "start":
                pending.extend([*self._pre_roll, frame])
                self._pre_roll.clear()
            elif state == "speech":
                pending.append(frame)
            else:  # end
                pending.append(frame)
                self._accept(pending)
                pending = []
                out.extend(self._final())
        if pending:
            self._accept(pending)
            if self._partials:
                out.extend(self._partial_updates())
        return out

    def flush(self) -> list[Hypothesis]:
        """End of stream: the utterance in progress, if any, becomes final."""
        self._remainder = b""
        if not self.endpointer.in_utterance:
            return []
        self.endpointer.reset()
        return self._final()

    def reset(self) -> None:
        """Forget everything heard so far (the robot was speaking)."""
        self._remainder = b""
        self._pre_roll.clear()
        self._last_partial = {}
        self.endpointer.reset()
        for decoder in self.decoders:
            decoder.reset()

    def _accept(self, frames: list[bytes]) -> None:
        pcm = b"".join(frames)
        for decoder in self.decoders:
            decoder.accept(pcm)

    def _partial_updates(self) -> list[Hypothesis]:
        out = []
        for decoder in self.decoders:
            text = decoder.partial()
            if text and text != self._last_partial.get(decoder.language):
                self._last_partial[decoder.language] = text
                out.append(Hypothesis(text, decoder.language, 0.0, False, self._last_voiced_end_s))
        return out

    def _final(self) -> list[Hypothesis]:
        self._last_partial = {}
        best: tuple[Segment, str] | None = None
        for decoder in self.decoders:
            segment = decoder.finish()
            if segment.text and (best is None or segment.confidence > best[0].confidence):
                best = (segment, decoder.language)
        if best is None:  # noise or a cough: nothing to report
            return []
        segment, language = best
        confidence = segment.confidence if math.isfinite(segment.confidence) else 0.0
        return [Hypothesis(segment.text, language, confidence, True, self._last_voiced_end_s)]
