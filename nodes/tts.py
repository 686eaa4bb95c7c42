"""The tts node: the robot's voice.

Serves the /speech/say action (Say: feedback with elapsed/total seconds; cancel; a new
goal pre-empts the one being spoken, whose result is then aborted with PREEMPTED) and
publishes /speech/speaking (latched Bool), true exactly while audio plays, so the asr node
can ignore the robot's own voice. Synthesis and playback live in speech/ (Speaker);
this file is wiring.

Threading: each goal executes in its own thread of the multi-threaded executor
(reentrant callback group); the Speaker lets one play at a time and the newest win.
The cancel callback only flags the request.
"""

from __future__ import annotations

import tempfile
import threading
import time
from typing import Any

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from std_msgs.msg import Bool

from service_desk_interfaces.action import Say
from service_desk_robot.nodes import qos
from service_desk_robot.nodes.diagnostics import Diagnostics, Health
from service_desk_robot.nodes.params import Parameters, yaml_defaults
from service_desk_robot.nodes.runtime import run_node
from service_desk_robot.speech.errors import SpeechError
from service_desk_robot.speech.output import create_sink
from service_desk_robot.speech.speaker import CANCELED, PREEMPTED, Speaker, SpeechRequest
from service_desk_robot.speech.tts import Synthesizer, Voice


class TtsNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("tts", **kwargs)
        params = Parameters(self, yaml_defaults("tts"))
        output = params.get("output", "audio (aplay) or folder (simulator: WAVs written, played in time)")
        device = params.get("device", "ALSA device for aplay -D; empty: the default device")
        folder = params.get("output_folder", "where output 'folder' writes the WAVs it plays")
        time_scale = params.get(
            "time_scale",
            "output 'folder': simulated time runs this many times faster (plays duration / time_scale)",
        )
        volume = params.get("volume", "speech volume 0..1")
        voices = {
            lang: Voice(
                params.get(f"voice_{lang}", f"espeak-ng voice for {lang}"),
                params.get(f"rate_{lang}", f"speech rate for {lang}, words per minute"),
                volume,
            )
            for lang in ("vi", "en")
        }
        max_digits = params.get("max_whole_number_digits", "longer numbers are spoken digit by digit")
        self._feedback_period_s = params.get("feedback_period_s", "seconds between Say feedback messages")

        self._speaking_pub = self.create_publisher(Bool, "/speech/speaking", qos.latched_state())
        self._speaking = False
        self._publish_speaking(False)
        self._requests: dict[bytes, SpeechRequest] = {}
        self._lock = threading.Lock()
        self._last_result = "none yet"
        self._speaker: Speaker | None = None
        self._fault = ""
        self._work_dir = tempfile.TemporaryDirectory(prefix="sdr-tts-")
        try:
            synthesizer = Synthesizer(voices, max_whole_number_digits=max_digits)
            sink = create_sink(output, device=device, folder=folder, time_scale=time_scale)
            self._speaker = Speaker(
                synthesizer, sink, self._work_dir.name, on_speaking=self._publish_speaking
            )
        except SpeechError as error:
            self._fault = str(error)
            self.get_logger().error(f"cannot speak: {error}")

        self._server = ActionServer(
            self,
            Say,
            "/speech/say",
            execute_callback=self._execute,
            goal_callback=self._on_goal,
            cancel_callback=self._on_cancel,
            callback_group=ReentrantCallbackGroup(),
        )
        self._diagnostics = Diagnostics(self, hardware_id=f"tts:{output}")
        self._diagnostics.add("voice", self._health)
        self.get_logger().info(f"tts ready: output={output}, voices {[v.voice_id for v in voices.values()]}")

    def _publish_speaking(self, speaking: bool) -> None:
        self._speaking = speaking
        self._speaking_pub.publish(Bool(data=speaking))

    def _on_goal(self, goal: Say.Goal) -> GoalResponse:
        del goal  # every goal is accepted; a bad one ends with an error code in its result
        return GoalResponse.ACCEPT

    def _on_cancel(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        with self._lock:
            request = self._requests.get(bytes(goal_handle.goal_id.uuid))
        if request is not None:
            request.cancel()
        return CancelResponse.ACCEPT

    def _execute(self, goal_handle: ServerGoalHandle) -> Say.Result:
        goal: Say.Goal = goal_handle.request
        key = bytes(goal_handle.goal_id.uuid)
        if self._speaker is None:
            goal_handle.abort()
            return Say.Result(success=False, error_code="SYNTHESIS_FAILED", message=self._fault)
        request = self._speaker.request(goal.text, goal.language)
        with self._lock:
            self._requests[key] = request
        if goal_handle.is_cancel_requested:
            request.cancel()
        last_feedback = [-float("inf")]

        def progress(elapsed: float, total: float) -> None:
            now = time.monotonic()
            if now - last_feedback[0] >= self._feedback_period_s:
                last_feedback[0] = now
                goal_handle.publish_feedback(Say.Feedback(elapsed_s=elapsed, total_s=total))

        try:
            result = self._speaker.speak(request, progress)
        finally:
            with self._lock:
                self._requests.pop(key, None)
        if result.error_code == CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        elif result.success:
            goal_handle.succeed()
        else:
            goal_handle.abort()
        if result.error_code not in ("", CANCELED, PREEMPTED):
            self.get_logger().error(f"say failed ({result.error_code}): {result.message}")
        self._last_result = result.error_code or "spoken"
        return Say.Result(
            success=result.success,
            error_code=result.error_code,
            message=result.message,
            spoken_duration_s=result.spoken_s,
        )

    def _health(self) -> Health:
        if self._speaker is None:
            return Health.error(self._fault)
        values = {
            "speaking": self._speaking,
            "spoken": self._speaker.spoken_count,
            "failed": self._speaker.failed_count,
            "last result": self._last_result,
        }
        if self._speaker.last_error and self._last_result not in ("spoken", CANCELED, PREEMPTED):
            return Health.error(self._speaker.last_error, **values)
        return Health.ok("speaking" if self._speaking else "ready", **values)

    def close(self) -> None:
        self._work_dir.cleanup()


def main() -> int:
    return run_node(TtsNode)


if __name__ == "__main__":
    raise SystemExit(main())
