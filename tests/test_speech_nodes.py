"""The asr and tts nodes in-process: the Say action (speaking flag, feedback, cancel,
pre-emption, errors) and /speech/heard from streamed audio, deaf while the robot speaks.
The asr node reuses the Korean Vosk model of this process (loaded once)."""

from __future__ import annotations

import array
import threading
import time

import pytest
import speech_helpers as sh
from action_msgs.msg import GoalStatus
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_msgs.msg import Bool, Int16MultiArray, MultiArrayDimension
from support import wait_until

from service_desk_interfaces.action import Say
from service_desk_interfaces.msg import Utterance
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.asr import AsrNode
from service_desk_robot.nodes.tts import TtsNode
from service_desk_robot.speech.audio import read_wav, write_wav

pytestmark = pytest.mark.ros
TIME_SCALE = 3.0  # simulated time runs 3x faster: speech lasts a third of the WAV
LONG_TEXT = "This is a long announcement that goes on for a good while, so that it can be cut."


class Probe(Node):
    """The test's side of the graph: records what the speech nodes publish."""

    def __init__(self) -> None:
        super().__init__("speech_probe")
        self.lock = threading.Lock()
        self.speaking: list[tuple[float, bool]] = []
        self.heard: list[Utterance] = []
        self.diagnostics: list[DiagnosticStatus] = []
        self.feedback: list[Say.Feedback] = []
        self.say = ActionClient(self, Say, "/speech/say")
        self.audio = self.create_publisher(Int16MultiArray, "/speech/audio_in", qos.events(200))
        self.speaking_pub = self.create_publisher(Bool, "/speech/speaking", qos.latched_state())
        history = qos.latched_state()
        history.depth = 50  # keep every transition, even quick ones (a pre-emption)
        self.create_subscription(Bool, "/speech/speaking", self._on_speaking, history)
        self.create_subscription(Utterance, "/speech/heard", self._on_heard, qos.events())
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_speaking(self, msg: Bool) -> None:
        with self.lock:
            self.speaking.append((time.monotonic(), msg.data))

    def _on_heard(self, msg: Utterance) -> None:
        with self.lock:
            self.heard.append(msg)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        with self.lock:
            self.diagnostics.extend(msg.status)

    def send(self, text: str, language: str = "en"):
        assert self.say.wait_for_server(timeout_sec=10)
        future = self.say.send_goal_async(
            Say.Goal(text=text, language=language), feedback_callback=self._on_feedback
        )
        handle = wait_until(lambda: future.done() and future.result(), message="goal accepted")
        return handle, handle.get_result_async()

    def _on_feedback(self, msg) -> None:
        with self.lock:
            self.feedback.append(msg.feedback)

    def is_speaking(self) -> bool:
        with self.lock:
            return bool(self.speaking) and self.speaking[-1][1]

    def stream(self, pcm: bytes, rate: int = sh.RATE) -> None:
        for chunk in sh.chunks(pcm, 100, rate):
            msg = Int16MultiArray(data=array.array("h", chunk))
            msg.layout.dim = [MultiArrayDimension(label=f"pcm16@{rate}", size=len(chunk) // 2, stride=1)]
            self.audio.publish(msg)

    def finals(self) -> list[Utterance]:
        with self.lock:
            return [u for u in self.heard if u.final]


def wait_result(future, timeout_s: float = 20.0):
    return wait_until(lambda: future.done() and future.result(), timeout_s, message="action result")


# --- tts ----------------------------------------------------------------------------------


@pytest.fixture
def tts(ros_spin, tmp_path):
    node = TtsNode(
        parameter_overrides=[
            Parameter("output", value="folder"),
            Parameter("output_folder", value=str(tmp_path)),
            Parameter("time_scale", value=TIME_SCALE),
            Parameter("feedback_period_s", value=0.05),
        ]
    )
    probe = Probe()
    ros_spin(node, probe)
    wait_until(lambda: probe.speaking, message="latched /speech/speaking")
    return probe, tmp_path


def test_say_speaks_and_speaking_is_true_exactly_while_audio_plays(tts):
    probe, folder = tts
    _, result_future = probe.send("Xin chào. Mời bạn lấy số thứ tự.", "vi")
    response = wait_result(result_future)
    assert response.status == GoalStatus.STATUS_SUCCEEDED
    assert response.result.success
    [wav] = sorted(folder.glob("*.wav"))
    _, info = read_wav(wav)
    assert 1.0 < info.duration_s < 10.0
    wait_until(lambda: len(probe.speaking) >= 3, message="speaking true then false")
    values = [v for _, v in probe.speaking]
    assert values == [False, True, False]
    spoke_s = probe.speaking[2][0] - probe.speaking[1][0]
    assert spoke_s == pytest.approx(info.duration_s / TIME_SCALE, abs=0.25)
    assert response.result.spoken_duration_s == pytest.approx(info.duration_s / TIME_SCALE, abs=0.1)
    assert probe.feedback
    assert probe.feedback[-1].total_s == pytest.approx(info.duration_s / TIME_SCALE, abs=0.01)


def test_cancel_stops_speaking(tts):
    probe, _ = tts
    handle, result_future = probe.send(LONG_TEXT)
    wait_until(probe.is_speaking, message="speaking")
    handle.cancel_goal_async()
    response = wait_result(result_future)
    assert response.status == GoalStatus.STATUS_CANCELED
    assert response.result.error_code == "CANCELED"
    wait_until(lambda: not probe.is_speaking(), message="speaking false after cancel")


def test_a_new_goal_preempts_the_current_one(tts):
    probe, _ = tts
    _, first = probe.send(LONG_TEXT)
    wait_until(probe.is_speaking, message="speaking")
    _, second = probe.send("Hello.")
    first_response = wait_result(first)
    assert first_response.status == GoalStatus.STATUS_ABORTED
    assert first_response.result.error_code == "PREEMPTED"
    second_response = wait_result(second)
    assert second_response.status == GoalStatus.STATUS_SUCCEEDED
    wait_until(lambda: not probe.is_speaking(), message="quiet again")
    values = [v for _, v in probe.speaking]
    assert values == [False, True, False, True, False]


def test_unknown_language_is_a_clear_error(tts):
    probe, _ = tts
    _, result_future = probe.send("Bonjour.", "fr")
    response = wait_result(result_future)
    assert response.status == GoalStatus.STATUS_ABORTED
    assert response.result.error_code == "UNKNOWN_LANGUAGE"
    assert "'fr'" in response.result.message


# --- asr ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ko_speech(tmp_path_factory) -> bytes:
    return (
        sh.silence(0.3)
        + sh.speech("안녕하세요. 감사합니다.", "ko", tmp_path_factory.mktemp("ko"))
        + sh.silence(0.8)
    )


@pytest.fixture
def asr(ros_spin, tmp_path):
    node = AsrNode(
        parameter_overrides=[
            Parameter("source", value="stream"),
            Parameter("languages", value=["vi"]),
            Parameter("models_dir", value=str(tmp_path)),
            Parameter("model_path_vi", value=str(sh.KO_MODEL)),
            Parameter("grammar_vi", value=sh.KO_PHRASES),
            Parameter("endpoint_silence_s", value=0.5),
            Parameter("speaking_tail_s", value=0.2),
        ]
    )
    probe = Probe()
    ros_spin(node, probe)
    wait_until(lambda: node.state == "listening", timeout_s=30, message="asr listening")
    wait_until(lambda: probe.audio.get_subscription_count() > 0, message="audio subscriber")
    return node, probe


def test_asr_publishes_partials_and_a_final_from_streamed_audio(asr, ko_speech):
    _, probe = asr
    probe.stream(ko_speech)
    [final] = wait_until(probe.finals, message="a final utterance")
    assert final.text == "안녕하세요 감사합니다"
    assert final.language == "vi"
    assert final.source == "asr"
    assert final.confidence > 0.5
    with probe.lock:
        assert any(not u.final for u in probe.heard)


def test_asr_is_deaf_while_the_robot_speaks(asr, ko_speech):
    node, probe = asr
    probe.speaking_pub.publish(Bool(data=True))
    wait_until(lambda: node.deaf, message="asr saw speaking")
    chunks = len(sh.chunks(ko_speech))
    probe.stream(ko_speech)
    wait_until(lambda: node.dropped_while_speaking >= chunks, message="every chunk dropped")
    assert probe.finals() == []
    probe.speaking_pub.publish(Bool(data=False))
    wait_until(lambda: not node.deaf, message="tail over")
    probe.stream(ko_speech)
    wait_until(probe.finals, message="heard again after speaking")
    assert node.dropped_while_speaking == chunks


def test_asr_refuses_audio_at_the_wrong_rate(asr):
    node, probe = asr
    probe.stream(sh.tone(0.3, rate=8000), rate=8000)
    wait_until(lambda: node.refused_chunks == 3, message="chunks refused")
    assert probe.finals() == []


def test_asr_hears_a_wav_file_source(ros_spin, tmp_path, ko_speech):
    write_wav(tmp_path / "visitor.wav", ko_speech, sh.RATE)
    node = AsrNode(
        parameter_overrides=[
            Parameter("source", value="wav"),
            Parameter("wav_path", value=str(tmp_path / "visitor.wav")),
            Parameter("languages", value=["vi"]),
            Parameter("model_path_vi", value=str(sh.KO_MODEL)),
            Parameter("grammar_vi", value=sh.KO_PHRASES),
        ]
    )
    probe = Probe()
    ros_spin(node, probe)
    [final] = wait_until(probe.finals, timeout_s=30, message="a final from the WAV file")
    assert final.text == "안녕하세요 감사합니다"
    wait_until(lambda: node.state == "source ended", message="the file played to its end")


def test_asr_without_a_model_reports_an_error_and_keeps_running(ros_spin, tmp_path):
    node = AsrNode(
        parameter_overrides=[
            Parameter("source", value="stream"),
            Parameter("models_dir", value=str(tmp_path)),
        ]
    )
    probe = Probe()
    ros_spin(node, probe)

    def model_errors():
        with probe.lock:
            return [
                s for s in probe.diagnostics if s.name == "asr: models" and s.level == DiagnosticStatus.ERROR
            ]

    errors = wait_until(lambda: len(model_errors()) >= 2, message="repeated ERROR diagnostics")
    assert node.state == "no model"
    message = model_errors()[-1].message
    assert "models install SOURCE --lang vi" in message
    assert "--lang en" in message
    del errors
