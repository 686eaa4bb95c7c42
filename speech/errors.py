"""The one exception tree of the speech subsystem (ASR, TTS, audio, models).

    SpeechError
    ├── AudioError                 audio in or out cannot be used
    │   ├── AudioFormatError       not PCM16 mono, or the wrong sample rate
    │   ├── TruncatedAudioError    a WAV shorter than its header says
    │   ├── AudioDeviceError       no microphone / sound card (PortAudio, ALSA)
    │   └── PlaybackError          the player failed while playing
    ├── ModelError                 an ASR model cannot be used
    │   ├── ModelNotFoundError     no model configured or installed for a language
    │   └── ModelInvalidError      the folder is not a model, or the engine rejects it
    ├── ModelInstallError          `models install` failed (nothing half-installed is kept)
    │   ├── ChecksumMismatchError
    │   └── UnsafeArchiveError     absolute paths, `..`, links or devices in an archive
    ├── RecognitionError           the engine failed while decoding
    └── SynthesisError             the TTS engine produced no complete WAV
        └── UnknownLanguageError   no voice configured for the language

Third-party errors (vosk, pocketsphinx, pyttsx3, sounddevice, aplay) are mapped onto this
tree with `raise ... from`, so callers catch one base class.
"""

from __future__ import annotations


class SpeechError(Exception):
    """Base of every error raised by service_desk_robot.speech."""


class AudioError(SpeechError):
    pass


class AudioFormatError(AudioError):
    pass


class TruncatedAudioError(AudioError):
    pass


class AudioDeviceError(AudioError):
    pass


class PlaybackError(AudioError):
    pass


class ModelError(SpeechError):
    pass


class ModelNotFoundError(ModelError):
    pass


class ModelInvalidError(ModelError):
    pass


class ModelInstallError(SpeechError):
    pass


class ChecksumMismatchError(ModelInstallError):
    pass


class UnsafeArchiveError(ModelInstallError):
    pass


class RecognitionError(SpeechError):
    pass


class SynthesisError(SpeechError):
    pass


class UnknownLanguageError(SynthesisError):
    pass
