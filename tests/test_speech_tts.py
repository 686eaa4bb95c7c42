"""TTS core: pyttsx3 to complete WAVs in vi and en, codes spelt out, playback sinks, and the
Speaker's speaking flag, cancel and pre-emption (with a scripted sink: no sleeps)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from service_desk_robot.speech.audio import WavInfo, level_dbfs, read_wav
from service_desk_robot.speech.errors import (
    AudioDeviceError,
    PlaybackError,
    SynthesisError,
    UnknownLanguageError,
)
from service_desk_robot.speech.output import AplaySink, AudioSink, FolderSink, Playback, create_sink
from service_desk_robot.speech.speaker import (
    CANCELED,
    PLAYBACK_FAILED,
    PREEMPTED,
    SYNTHESIS_FAILED,
    UNKNOWN_LANGUAGE,
    Speaker,
)
from service_desk_robot.speech.tts import Synthesizer, Voice, spell_out_codes

VOICES = {"vi": Voice("aav/vi", 150), "en": Voice("gmw/en-us", 160)}


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    return Synthesizer(VOICES)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("vi", "Xin chào. Số thứ tự của bạn là A042, mời bạn chờ ở quầy 3."),
        ("en", "Hello. Your queue number is A042, please wait at counter 3."),
    ],
)
def test_synthesis_writes_a_complete_wav_of_plausible_length(synthesizer, tmp_path, language, text):
    info = synthesizer.synthesize(text, language, tmp_path / "say.wav")
    pcm, again = read_wav(info.path)  # complete: the frame count in the header is all there
    assert again == info
    # two short sentences at 150-160 words per minute: a few seconds, not 0 and not 30
    assert 2.0 < info.duration_s < 12.0
    assert level_dbfs(pcm) > -40.0  # speech, not silence


def test_synthesis_keeps_stdout_clean(synthesizer, tmp_path, capfd):
    synthesizer.synthesize("Hello.", "en", tmp_path / "a.wav")
    assert capfd.readouterr().out == ""


def test_each_utterance_goes_to_its_own_file(synthesizer, tmp_path):
    long = synthesizer.synthesize(
        "This sentence is clearly longer than the other one.", "en", tmp_path / "a.wav"
    )
    short = synthesizer.synthesize("Hi.", "en", tmp_path / "b.wav")
    assert read_wav(long.path)[1] == long  # the first file was not overwritten by the second
    assert short.duration_s < long.duration_s


def test_repeated_synthesis_never_loses_audio(synthesizer, tmp_path):
    """pyttsx3 2.99 drops the samples that come with espeak's last callback (short texts
    came out empty or cut); switching voices between utterances made it worse."""
    durations = []
    for i in range(12):
        synthesizer.synthesize("Xin chào.", "vi", tmp_path / "vi.wav")
        durations.append(synthesizer.synthesize("Hi.", "en", tmp_path / f"{i}.wav").duration_s)
    median = sorted(durations)[len(durations) // 2]
    assert min(durations) > 0.97 * median
    assert max(durations) < 1.03 * median


def test_unknown_language_empty_text_and_unknown_voice_are_clear_errors(synthesizer, tmp_path):
    with pytest.raises(UnknownLanguageError, match="'fr'"):
        synthesizer.synthesize("Bonjour", "fr", tmp_path / "a.wav")
    with pytest.raises(SynthesisError, match="empty"):
        synthesizer.synthesize("   ", "vi", tmp_path / "a.wav")
    with pytest.raises(SynthesisError, match="no voice"):
        Synthesizer({"vi": Voice("aav/klingon")})


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Số A042.", "Số A, 0, 4, 2."),
        ("Mã HS-2024-00123", "Mã H, S, 2, 0, 2, 4, 0, 0, 1, 2, 3"),
        ("Quầy 3, chờ 15 phút", "Quầy 3, chờ 15 phút"),
        ("Phí 50.000 đồng", "Phí 50.000 đồng"),
        ("Số 12345", "Số 1, 2, 3, 4, 5"),
        ("Không có số", "Không có số"),
    ],
)
def test_codes_and_long_numbers_are_spelt_out(text, spoken):
    assert spell_out_codes(text, max_whole_number_digits=3) == spoken


def test_a_long_vietnamese_number_synthesises(synthesizer, tmp_path):
    info = synthesizer.synthesize("Mã hồ sơ của bạn là 000123456789012.", "vi", tmp_path / "n.wav")
    assert info.duration_s > 3.0  # fifteen digits, one by one


# --- sinks -----------------------------------------------------------------------------


def test_folder_sink_writes_the_wav_and_plays_it_for_its_duration(synthesizer, tmp_path):
    wav = synthesizer.synthesize("Hi.", "en", tmp_path / "hi.wav")
    now = [100.0]
    sink = FolderSink(tmp_path / "out", time_scale=2.0, clock=lambda: now[0])
    playback = sink.start(wav)
    assert sink.written[0].read_bytes() == wav.path.read_bytes()
    assert playback.duration_s == pytest.approx(wav.duration_s / 2.0)
    assert playback.wait(0) is False
    now[0] += playback.duration_s
    assert playback.wait(0) is True


def test_folder_sink_stop_ends_playback_at_once(tmp_path):
    sink = FolderSink(tmp_path, time_scale=1.0)
    (tmp_path / "x.wav").write_bytes(b"")
    playback = sink.start(WavInfo(tmp_path / "x.wav", 16000, 16000 * 60))
    playback.stop()
    assert playback.wait(5.0) is True


def test_aplay_without_a_sound_card_is_a_clear_error(synthesizer, tmp_path):
    cards_file = Path("/proc/asound/cards")
    cards = cards_file.read_text() if cards_file.exists() else ""
    if cards and "no soundcards" not in cards:
        pytest.skip("this machine has a sound card")
    wav = synthesizer.synthesize("Hi.", "en", tmp_path / "hi.wav")
    playback = AplaySink().start(wav)
    with pytest.raises(PlaybackError, match="no sound card"):
        playback.wait(10.0)


def test_unknown_sinks_are_refused(tmp_path):
    with pytest.raises(AudioDeviceError, match="unknown output"):
        create_sink("hdmi")
    with pytest.raises(AudioDeviceError, match="needs an output folder"):
        create_sink("folder")
    with pytest.raises(AudioDeviceError, match="not found"):
        AplaySink(binary="no-such-player")


# --- the Speaker -------------------------------------------------------------------------


class ScriptedPlayback(Playback):
    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s
        self.finished = threading.Event()
        self.stopped = False

    def wait(self, timeout_s: float) -> bool:
        return self.finished.wait(timeout_s)

    def stop(self) -> None:
        self.stopped = True
        self.finished.set()


class ScriptedSink(AudioSink):
    """Playback lasts until the test says so; records what the speaking flag was."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.playbacks: list[ScriptedPlayback] = []
        self.started = threading.Semaphore(0)
        self.fail = fail

    def start(self, wav: WavInfo) -> Playback:
        if self.fail:
            raise self.fail
        playback = ScriptedPlayback(wav.duration_s)
        self.playbacks.append(playback)
        self.started.release()
        return playback


@pytest.fixture
def speaker_parts(synthesizer, tmp_path):
    sink = ScriptedSink()
    flags: list[bool] = []
    speaker = Speaker(synthesizer, sink, tmp_path, on_speaking=flags.append, poll_s=0.01)
    return speaker, sink, flags


def speak_in_thread(speaker, text, language="en"):
    request = speaker.request(text, language)
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=speaker.speak(request)))
    thread.start()
    return request, thread, box


def test_speaking_is_true_exactly_while_audio_plays(speaker_parts):
    speaker, sink, flags = speaker_parts
    progress: list[tuple[float, float]] = []
    request = speaker.request("Hello there.", "en")
    box = {}
    thread = threading.Thread(
        target=lambda: box.update(result=speaker.speak(request, lambda e, t: progress.append((e, t))))
    )
    thread.start()
    assert sink.started.acquire(timeout=10)
    assert flags == [True]  # playing: speaking
    sink.playbacks[0].finished.set()
    thread.join(10)
    assert flags == [True, False]  # finished: not speaking any more
    assert box["result"].success
    assert box["result"].total_s == pytest.approx(sink.playbacks[0].duration_s)
    assert progress
    assert progress[-1][1] == pytest.approx(sink.playbacks[0].duration_s)


def test_cancel_stops_playback(speaker_parts):
    speaker, sink, flags = speaker_parts
    request, thread, box = speak_in_thread(speaker, "A long sentence that will be cut.")
    assert sink.started.acquire(timeout=10)
    request.cancel()
    thread.join(10)
    assert box["result"].error_code == CANCELED
    assert sink.playbacks[0].stopped
    assert flags == [True, False]


def test_a_new_request_preempts_the_current_one(speaker_parts):
    speaker, sink, flags = speaker_parts
    _, first_thread, first = speak_in_thread(speaker, "The first sentence.")
    assert sink.started.acquire(timeout=10)
    _, second_thread, second = speak_in_thread(speaker, "The second sentence.")
    first_thread.join(10)
    assert first["result"].error_code == PREEMPTED
    assert sink.started.acquire(timeout=10)
    sink.playbacks[1].finished.set()
    second_thread.join(10)
    assert second["result"].success
    assert flags == [True, False, True, False]  # never two voices at once


def test_failures_come_back_as_stable_error_codes(synthesizer, tmp_path):
    speaker = Speaker(synthesizer, ScriptedSink(fail=PlaybackError("no card")), tmp_path)
    assert speaker.speak(speaker.request("Hi.", "en")).error_code == PLAYBACK_FAILED
    assert speaker.speak(speaker.request("Bonjour.", "fr")).error_code == UNKNOWN_LANGUAGE
    assert speaker.speak(speaker.request("", "en")).error_code == SYNTHESIS_FAILED
    assert speaker.failed_count == 3
