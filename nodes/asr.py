"""The asr node: hears visitors and publishes /speech/heard.

Audio comes from the microphone, a WAV file, or /speech/audio_in (std_msgs/Int16MultiArray
of PCM16 mono at `sample_rate`, what the simulator feeds; a `layout.dim[0].label` of the
form "pcm16@16000" declares the rate, and a chunk at another rate is refused). The
Recognizer (speech/asr.py) turns it into partial and final Utterances (source "asr").
While /speech/speaking is true, and for `speaking_tail_s` after, audio is dropped and the
utterance in progress forgotten: the robot never hears itself.

A language without a model is one ERROR log line and a diagnostic ERROR; the node keeps
running (typed and touch input still reach the dialogue).

Threading: models load and audio is decoded in one worker thread; the topic and speaking
callbacks only stamp, gate and queue data. Grammars (parameters grammar_vi/grammar_en,
settable at run time) are handed to the worker through guarded state.
"""

from __future__ import annotations

import contextlib
import re
import threading
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Bool, Int16MultiArray

from service_desk_interfaces.msg import Utterance
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.speech.asr import Decoder, EndpointSettings, Hypothesis, Recognizer, create_decoder
from service_desk_robot.speech.audio import AudioSource, StreamSource, open_source
from service_desk_robot.speech.errors import SpeechError
from service_desk_robot.speech.gate import SpeakingGate
from service_desk_robot.speech.models import ModelStore

_RATE_LABEL = re.compile(r"pcm16@(\d+)")
READ_TIMEOUT_S = 0.1


class AsrNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("asr", **kwargs)
        params = Parameters(self, yaml_defaults("asr"))
        self._engine = params.get("engine", "vosk, or pocketsphinx (bundled en-us, offline English demos)")
        self._languages = list(params.get("languages", "languages to listen for; each needs a model"))
        self._models_dir = params.get(
            "models_dir", "models folder; empty: $SERVICE_DESK_MODELS_DIR or data dir"
        )
        self._model_paths = {
            lang: params.get(f"model_path_{lang}", f"model folder for {lang}; empty: the installed one")
            for lang in ("vi", "en")
        }
        self._source_kind = params.get("source", "microphone, stream (/speech/audio_in) or wav")
        self._device = params.get("device", "PortAudio input device; empty: the default")
        self._wav_path = params.get("wav_path", "WAV file for source 'wav'")
        self._sample_rate = params.get("sample_rate", "sample rate of the audio, Hz")
        self._endpoint = EndpointSettings(
            silence_threshold_dbfs=params.get("silence_threshold_dbfs", "frames louder than this are speech"),
            endpoint_silence_s=params.get("endpoint_silence_s", "trailing silence that ends an utterance, s"),
            min_speech_s=params.get("min_speech_s", "voiced time that starts an utterance, s"),
            max_utterance_s=params.get("max_utterance_s", "an utterance is cut after this long, s"),
            pre_roll_s=params.get("pre_roll_s", "audio kept from before the start of speech, s"),
        )
        self._partials = params.get("publish_partials", "publish partial results (final=false)")
        tail_s = params.get("speaking_tail_s", "audio is still ignored this long after speaking ends, s")
        for lang in ("vi", "en"):
            self.declare_parameter(
                f"grammar_{lang}",
                Parameter.Type.STRING_ARRAY,
                ParameterDescriptor(
                    description=f"phrases expected in {lang} (set at run time); unset: free-form"
                ),
            )
        self.add_on_set_parameters_callback(self._on_parameters)

        self._gate = SpeakingGate(tail_s)
        self._lock = threading.Lock()
        # Grammars given at start (params file, overrides) are applied like later changes.
        self._grammar_updates: dict[str, list[str]] = {}
        for lang in ("vi", "en"):
            with contextlib.suppress(ParameterUninitializedException):  # unset: free-form
                self._grammar_updates[lang] = list(self.get_parameter(f"grammar_{lang}").value)
        self._model_errors: dict[str, str] = {}
        self._loaded: list[str] = []
        self._audio_error = ""
        self._state = "loading models"
        self._finals = 0
        self._partial_count = 0
        self._refused_chunks = 0
        self._source: AudioSource | None = None
        self._stopping = threading.Event()

        self._heard = self.create_publisher(Utterance, "/speech/heard", qos.events())
        self.create_subscription(Bool, "/speech/speaking", self._on_speaking, qos.latched_state())
        if self._source_kind == "stream":
            self._source = StreamSource(self._sample_rate)
            self.create_subscription(Int16MultiArray, "/speech/audio_in", self._on_audio, qos.events(200))
        self._diagnostics = Diagnostics(self, hardware_id=f"asr:{self._source_kind}")
        self._diagnostics.add("models", self._models_health)
        self._diagnostics.add("audio", self._audio_health)
        self._worker = threading.Thread(target=self._run, name="asr-worker", daemon=True)
        self._worker.start()

    # --- callbacks: copy, gate, queue -------------------------------------------------

    def _on_speaking(self, msg: Bool) -> None:
        self._gate.set_speaking(msg.data)

    def _on_audio(self, msg: Int16MultiArray) -> None:
        rate = None
        if msg.layout.dim and (match := _RATE_LABEL.fullmatch(msg.layout.dim[0].label)):
            rate = int(match.group(1))
        if not self._gate.admit():
            return
        try:
            self._source.push(msg.data.tobytes(), rate)
        except SpeechError as error:
            with self._lock:
                self._refused_chunks += 1
                self._audio_error = str(error)
            self.get_logger().error(f"audio chunk refused: {error}", throttle_duration_sec=5.0)

    def _on_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        with self._lock:
            for parameter in parameters:
                if parameter.name.startswith("grammar_"):
                    self._grammar_updates[parameter.name.removeprefix("grammar_")] = list(
                        parameter.value or []
                    )
        return SetParametersResult(successful=True)

    # --- the worker ---------------------------------------------------------------------

    def _run(self) -> None:
        recognizer = self._build_recognizer()
        if recognizer is None:
            return
        try:
            if self._source is None:
                self._source = open_source(
                    self._source_kind, recognizer.sample_rate, wav_path=self._wav_path, device=self._device
                )
        except SpeechError as error:
            self._audio_error = str(error)
            self._state = "no audio"
            self.get_logger().error(f"no audio input ({self._source_kind}): {error}")
            return
        self._state = "listening"
        self.get_logger().info(f"listening ({self._source_kind}) in {', '.join(self._loaded)}")
        gated = False
        while not self._stopping.is_set():
            self._apply_grammars(recognizer)
            chunk = self._source.read(READ_TIMEOUT_S)
            if chunk is None:  # a WAV file ended
                self._publish(recognizer.flush())
                self._state = "source ended"
                return
            if not chunk:
                continue
            if not self._gate.is_open():
                if not gated:
                    recognizer.reset()  # whatever was being heard is (or overlaps) the robot's voice
                    gated = True
                continue
            gated = False
            try:
                self._publish(recognizer.feed(chunk))
            except SpeechError as error:
                recognizer.reset()
                self._audio_error = str(error)
                self.get_logger().error(f"recognition failed: {error}", throttle_duration_sec=5.0)

    def _build_recognizer(self) -> Recognizer | None:
        store = ModelStore(self._models_dir or None)
        decoders: list[Decoder] = []
        for lang in self._languages:
            try:
                path: Path | str | None = self._model_paths.get(lang) or None
                if path is None and self._engine == "vosk":
                    path = store.model_path(lang)
                decoders.append(create_decoder(self._engine, lang, path, self._sample_rate))
                self._loaded.append(lang)
            except SpeechError as error:
                self._model_errors[lang] = str(error)
                self.get_logger().error(f"ASR for {lang} unavailable: {error}")
        if not decoders:
            self._state = "no model"
            return None
        return Recognizer(decoders, self._endpoint, partials=self._partials)

    def _apply_grammars(self, recognizer: Recognizer) -> None:
        with self._lock:
            updates, self._grammar_updates = self._grammar_updates, {}
        for lang, phrases in updates.items():
            try:
                recognizer.set_grammar(phrases, lang)
                self.get_logger().info(
                    f"grammar for {lang}: {len(phrases)} phrases" if phrases else "free-form"
                )
            except SpeechError as error:
                self.get_logger().error(f"grammar for {lang} refused: {error}")

    def _publish(self, hypotheses: list[Hypothesis]) -> None:
        for hypothesis in hypotheses:
            msg = Utterance(
                text=hypothesis.text,
                language=hypothesis.language,
                confidence=float(hypothesis.confidence),
                final=hypothesis.final,
                source="asr",
            )
            msg.header.stamp = self.get_clock().now().to_msg()
            self._heard.publish(msg)
            if hypothesis.final:
                self._finals += 1
                self.get_logger().info(
                    f"heard ({hypothesis.language}, {hypothesis.confidence:.2f}): {hypothesis.text}"
                )
            else:
                self._partial_count += 1

    @property
    def state(self) -> str:
        """loading models, no model, no audio, listening or source ended."""
        return self._state

    @property
    def dropped_while_speaking(self) -> int:
        return self._gate.closed_count

    @property
    def refused_chunks(self) -> int:
        return self._refused_chunks

    @property
    def deaf(self) -> bool:
        """True while the robot speaks and for the tail after: audio is being dropped."""
        return not self._gate.is_open()

    # --- diagnostics ------------------------------------------------------------------

    def _models_health(self) -> Health:
        values = {"engine": self._engine, "loaded": ",".join(self._loaded) or "-", "state": self._state}
        if self._state == "loading models":
            return Health.warn("loading models", **values)
        if not self._loaded:
            return Health.error("no ASR model: " + "; ".join(self._model_errors.values()), **values)
        if self._model_errors:
            return Health.warn("; ".join(self._model_errors.values()), **values)
        return Health.ok(f"listening in {', '.join(self._loaded)}", **values)

    def _audio_health(self) -> Health:
        values = {
            "source": self._source_kind,
            "finals": self._finals,
            "partials": self._partial_count,
            "dropped while speaking": self._gate.closed_count,
            "refused chunks": self._refused_chunks,
            "speaking": self._gate.speaking,
        }
        if self._state == "no audio":
            return Health.error(self._audio_error, **values)
        if self._audio_error:
            return Health.warn(self._audio_error, **values)
        return Health.ok(self._state, **values)

    def close(self) -> None:
        self._stopping.set()
        if self._source is not None:
            self._source.close()
        self._worker.join(timeout=2.0)


def main() -> int:
    return run_node(AsrNode)


if __name__ == "__main__":
    raise SystemExit(main())
