"""Speech engines (Vosk ASR, pyttsx3 TTS) and audio sources/sinks. No ROS imports."""
