"""ASR core: Vosk with the Korean model (the only one offline), pocketsphinx, endpointing,
audio sources and their failures. The Vosk model is loaded once for this module."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest
import speech_helpers as sh

from service_desk_robot.speech import asr
from service_desk_robot.speech.asr import (
    Decoder,
    EndpointSettings,
    Recognizer,
    Segment,
    VoskDecoder,
    create_decoder,
    grammar_json,
    load_vosk_model,
)
from service_desk_robot.speech.audio import (
    MicrophoneSource,
    StreamSource,
    WavFileSource,
    open_source,
    read_wav,
    write_wav,
)
from service_desk_robot.speech.errors import (
    AudioDeviceError,
    AudioFormatError,
    ModelInvalidError,
    ModelNotFoundError,
    SpeechError,
    TruncatedAudioError,
)

FAST = EndpointSettings(endpoint_silence_s=0.5)


@pytest.fixture(scope="module")
def ko_model() -> Path:
    load_vosk_model(sh.KO_MODEL)  # the one load of this module; decoders below reuse it
    return sh.KO_MODEL


@pytest.fixture(scope="module")
def ko_speech(tmp_path_factory) -> bytes:
    """Korean speech ("hello. thank you.") with silence around it, 16 kHz."""
    folder = tmp_path_factory.mktemp("ko")
    return sh.silence(0.3) + sh.speech("안녕하세요. 감사합니다.", "ko", folder) + sh.silence(1.0)


def run(recognizer: Recognizer, pcm: bytes, chunk_ms: int = 100) -> list[asr.Hypothesis]:
    out = []
    for chunk in sh.chunks(pcm, chunk_ms):
        out.extend(recognizer.feed(chunk))
    return out + recognizer.flush()


# --- Vosk ---------------------------------------------------------------------------


def test_vosk_model_loads_once_from_a_path(ko_model):
    assert load_vosk_model(ko_model) is load_vosk_model(str(ko_model))


def test_vosk_streams_partials_then_one_final(ko_model, ko_speech):
    """GIVEN Korean speech fed in 100 ms chunks WHEN decoded free-form THEN partials come
    first and the utterance ends in exactly one final with a confidence."""
    recognizer = Recognizer([VoskDecoder(ko_model, "ko", sh.RATE)], FAST)
    out = run(recognizer, ko_speech)
    partials = [h for h in out if not h.final]
    finals = [h for h in out if h.final]
    assert partials, "no partial results"
    assert out.index(partials[0]) < out.index(finals[0])
    assert len(finals) == 1
    assert finals[0].text
    assert finals[0].language == "ko"
    assert 0.0 < finals[0].confidence <= 1.0
    # the final comes from the endpointer (trailing silence), not from flush at stream end
    assert recognizer.in_utterance is False


def test_vosk_grammar_mode_recognises_the_expected_phrases(ko_model, ko_speech):
    recognizer = Recognizer([VoskDecoder(ko_model, "ko", sh.RATE, grammar=sh.KO_PHRASES)], FAST)
    finals = [h for h in run(recognizer, ko_speech) if h.final]
    assert [f.text for f in finals] == ["안녕하세요 감사합니다"]
    assert finals[0].confidence > 0.5


def test_vosk_grammar_can_be_changed_and_removed(ko_model, ko_speech):
    decoder = VoskDecoder(ko_model, "ko", sh.RATE)
    recognizer = Recognizer([decoder], FAST)
    recognizer.set_grammar(["감사합니다"])
    assert {w for h in run(recognizer, ko_speech) if h.final for w in h.text.split()} <= {"감사합니다"}
    recognizer.set_grammar(None)  # free-form again: the first word alone (free-form is slow)
    first_word = ko_speech[: int(1.3 * sh.RATE) * 2] + sh.silence(0.6)
    assert [h for h in run(recognizer, first_word) if h.final]


def test_grammar_json_keeps_diacritics_unescaped():
    text = grammar_json(["xin chào", "cảm ơn", "안녕하세요"])
    assert "xin chào" in text
    assert "\\u" not in text
    assert json.loads(text) == ["xin chào", "cảm ơn", "안녕하세요"]


def test_missing_and_invalid_models_are_clear_errors(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no Vosk model folder"):
        load_vosk_model(tmp_path / "absent")
    with pytest.raises(ModelInvalidError, match="not a Vosk model"):
        load_vosk_model(tmp_path)
    with pytest.raises(ModelNotFoundError, match="models install"):
        create_decoder("vosk", "vi", "", sh.RATE)
    with pytest.raises(ModelInvalidError, match="unknown ASR engine"):
        create_decoder("whisper", "vi", tmp_path, sh.RATE)
    with pytest.raises(ModelNotFoundError, match="only an en-us model"):
        create_decoder("pocketsphinx", "vi", None, sh.RATE)
    with pytest.raises(ModelNotFoundError):
        Recognizer([])


def test_a_broken_model_folder_is_mapped_onto_the_tree(tmp_path):
    (tmp_path / "am").mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    with pytest.raises(ModelInvalidError, match="could not load"):
        load_vosk_model(tmp_path)


def test_vosk_noise_and_silence_never_crash(ko_model):
    recognizer = Recognizer([VoskDecoder(ko_model, "ko", sh.RATE)], EndpointSettings(max_utterance_s=0.5))
    assert run(recognizer, sh.silence(1.0)) == []
    finals = [h for h in run(recognizer, sh.noise(1.2)) if h.final]
    assert len(finals) <= 3  # cut at max_utterance_s, whatever it made of the noise


# --- pocketsphinx (English, bundled model) -------------------------------------------


def test_pocketsphinx_english_with_a_grammar(tmp_path):
    pcm = sh.silence(0.3) + sh.speech("thank you", "gmw/en-us", tmp_path) + sh.silence(1.0)
    decoder = create_decoder("pocketsphinx", "en", None, sh.RATE, ["thank you", "check in my booking"])
    finals = [h for h in run(Recognizer([decoder], FAST), pcm) if h.final]
    assert [(f.text, f.language) for f in finals] == [("thank you", "en")]
    assert 0.0 < finals[0].confidence <= 1.0


# --- endpointing with a scripted decoder (no model) ------------------------------------


class CountingDecoder(Decoder):
    """Reports how much audio it was fed; 'says' one word per utterance."""

    def __init__(self, language: str = "vi") -> None:
        self.language = language
        self.sample_rate = sh.RATE
        self.fed = 0
        self.grammar: list[str] | None = None

    def accept(self, pcm: bytes) -> None:
        self.fed += len(pcm)

    def partial(self) -> str:
        return f"{self.fed // 3200}" if self.fed else ""

    def finish(self) -> Segment:
        heard, self.fed = self.fed, 0
        return Segment(f"{self.language}:{heard}", 0.5) if heard else Segment("", 0.0)

    def reset(self) -> None:
        self.fed = 0

    def set_grammar(self, phrases):
        self.grammar = phrases


def test_utterance_ends_after_the_configured_trailing_silence():
    settings = EndpointSettings(endpoint_silence_s=0.6)
    recognizer = Recognizer([CountingDecoder()], settings, partials=False)
    short_gap = sh.tone(0.5) + sh.silence(0.3) + sh.tone(0.5)  # one utterance
    out = run(recognizer, sh.silence(0.5) + short_gap + sh.silence(0.8) + sh.tone(0.5) + sh.silence(0.8))
    assert [h.final for h in out] == [True, True]
    # the first final ends where its voiced audio ended: 0.5 + 1.3 s
    assert out[0].speech_end_s == pytest.approx(1.8, abs=0.05)


def test_silence_never_reaches_the_decoder():
    decoder = CountingDecoder()
    recognizer = Recognizer([decoder], FAST)
    assert run(recognizer, sh.silence(2.0)) == []
    assert decoder.fed == 0


def test_loud_noise_is_cut_at_max_utterance():
    recognizer = Recognizer([CountingDecoder()], EndpointSettings(max_utterance_s=1.0), partials=False)
    finals = [h for chunk in sh.chunks(sh.noise(3.2)) for h in recognizer.feed(chunk)]
    assert len(finals) == 3
    assert all(h.final for h in finals)


def test_best_confidence_wins_across_languages():
    class Sure(CountingDecoder):
        def finish(self) -> Segment:
            return Segment("sure", 0.9) if super().finish().text else Segment("", 0.0)

    recognizer = Recognizer([CountingDecoder("vi"), Sure("en")], FAST, partials=False)
    finals = run(recognizer, sh.tone(0.5) + sh.silence(0.8))
    assert [(h.text, h.language) for h in finals] == [("sure", "en")]


def test_reset_forgets_the_utterance_in_progress():
    decoder = CountingDecoder()
    recognizer = Recognizer([decoder], FAST)
    recognizer.feed(sh.tone(0.5))
    assert recognizer.in_utterance
    recognizer.reset()
    assert decoder.fed == 0
    assert not recognizer.in_utterance
    assert recognizer.flush() == []


def test_odd_length_chunk_is_refused():
    with pytest.raises(AudioFormatError, match="odd length"):
        Recognizer([CountingDecoder()]).feed(b"\0\0\0")


# --- audio sources ---------------------------------------------------------------------


def test_wav_source_streams_the_file_in_chunks(tmp_path):
    write_wav(tmp_path / "a.wav", sh.tone(1.0), sh.RATE)
    source = WavFileSource(tmp_path / "a.wav", expected_rate=sh.RATE, chunk_ms=100)
    chunks = []
    while (chunk := source.read(0.1)) is not None:
        chunks.append(chunk)
    assert len(chunks) == 10
    assert b"".join(chunks) == sh.tone(1.0)


def test_wrong_sample_rate_is_refused(tmp_path):
    write_wav(tmp_path / "a.wav", sh.tone(0.2, rate=8000), 8000)
    with pytest.raises(AudioFormatError, match="8000 Hz, the recogniser needs 16000 Hz"):
        WavFileSource(tmp_path / "a.wav", expected_rate=sh.RATE)
    with pytest.raises(AudioFormatError, match="8000 Hz"):
        StreamSource(sh.RATE).push(sh.tone(0.1, rate=8000), sample_rate=8000)


def test_truncated_wav_is_refused(tmp_path):
    write_wav(tmp_path / "a.wav", sh.tone(1.0), sh.RATE)
    data = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedAudioError, match="truncated"):
        read_wav(tmp_path / "cut.wav")
    (tmp_path / "header.wav").write_bytes(data[:20])
    with pytest.raises(TruncatedAudioError):
        read_wav(tmp_path / "header.wav")


def test_not_a_mono_pcm16_wav_is_refused(tmp_path):
    with wave.open(str(tmp_path / "stereo.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sh.RATE)
        w.writeframes(b"\0" * 400)
    with pytest.raises(AudioFormatError, match="16-bit mono"):
        read_wav(tmp_path / "stereo.wav")
    (tmp_path / "text.wav").write_text("this is a text file, not a WAV file at all")
    with pytest.raises(AudioFormatError, match="not a PCM WAV"):
        read_wav(tmp_path / "text.wav")
    with pytest.raises(AudioFormatError, match="no such WAV"):
        read_wav(tmp_path / "absent.wav")


def test_stream_source_is_bounded_and_ends_on_close():
    source = StreamSource(sh.RATE, max_chunks=2)
    for i in range(3):
        source.push(bytes([i, 0]))
    assert source.overflowed == 1
    assert source.read(0.01) == b"\x01\x00"
    assert source.read(0.01) == b"\x02\x00"
    assert source.read(0.01) == b""
    source.close()
    assert source.read(0.01) is None


def test_microphone_without_a_sound_card_is_a_clear_error():
    import sounddevice

    try:
        has_input = any(d["max_input_channels"] > 0 for d in sounddevice.query_devices())
    except sounddevice.PortAudioError:
        has_input = False
    if has_input:
        pytest.skip("this machine has a microphone")
    with pytest.raises(AudioDeviceError, match="no usable microphone"):
        MicrophoneSource(sh.RATE)


def test_unknown_source_kind():
    with pytest.raises(SpeechError, match="unknown audio source"):
        open_source("bluetooth", sh.RATE)
