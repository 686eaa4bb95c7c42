"""Dialogue latency: text in -> first robot act, on the core and through the node.

- core: DialogueManager.handle(Heard) for every utterance of the labelled set
  (tests/data/dialogue_utterances.yaml), in a visitor session; p95 of the call;
- node: an Utterance published on /speech/heard -> the first DialogueAct on /dialogue/acts,
  with the dialogue node in its own process, as deployed (its console script), and small
  fake servers (speech, ward office, printer) in this one; p95;
- a full ticket conversation through the node (ENGAGED -> greeting -> "number for
  certified copies" -> issue -> print -> TICKET act), wall time.

Run alone: `.venv/bin/python bench/bench_dialogue.py [--quick]`.
"""

from __future__ import annotations

import random
import string
import sys
import threading
import time
from pathlib import Path

import yaml

from service_desk_robot.benchmarking import Figure, at_most, percentile, print_table

REPO = Path(__file__).resolve().parent.parent
UTTERANCES = REPO / "tests" / "data" / "dialogue_utterances.yaml"
TARGET_MS = 50.0


def _texts() -> list[str]:
    return [sample["text"] for sample in yaml.safe_load(UTTERANCES.read_text(encoding="utf-8"))]


def bench_core(rounds: int) -> list[Figure]:
    from service_desk_robot.robot.dialogue.config import DialogueConfig
    from service_desk_robot.robot.dialogue.manager import DialogueManager
    from service_desk_robot.robot.dialogue.messages import (
        Heard,
        Say,
        SayFinished,
        VisitorEngaged,
        VisitorLeft,
    )

    config = DialogueConfig.load(REPO / "config")
    manager = DialogueManager(config, clock=time.monotonic)
    texts = _texts()
    samples_ms = []
    for round_ in range(rounds):
        for index, text in enumerate(texts):
            if index % 10 == 0:  # a new visitor now and then, as in the lobby
                manager.handle(VisitorLeft(f"v{round_}-{index - 10}"))
                manager.handle(VisitorEngaged(f"v{round_}-{index}"))
            start = time.perf_counter()
            effects = manager.handle(Heard(text))
            samples_ms.append((time.perf_counter() - start) * 1000)
            for effect in effects:
                if isinstance(effect, Say):
                    manager.handle(SayFinished(effect.request_id, True))
    detail = f"{len(samples_ms)} utterances (vi, unaccented vi, en), in-process"
    figures = [
        at_most("core: text in -> first act p95", percentile(samples_ms, 0.95), "ms", TARGET_MS, detail)
    ]
    # Worst case: long lines of unknown words, each one a fuzzy-correction search.
    rng = random.Random(1)
    garbage_ms = []
    for _ in range(20 * rounds):
        words = (
            "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9))) for _ in range(60)
        )
        start = time.perf_counter()
        manager.handle(Heard(" ".join(words)))
        garbage_ms.append((time.perf_counter() - start) * 1000)
    figures.append(
        at_most(
            "core: 60 unknown words -> first act p95",
            percentile(garbage_ms, 0.95),
            "ms",
            TARGET_MS,
            f"{len(garbage_ms)} lines of random letters (input cut at 240 characters)",
        )
    )
    return figures


def bench_node(trials: int) -> list[Figure]:
    import subprocess

    import rclpy
    from rclpy.action import ActionServer
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node

    from service_desk_interfaces.action import Say
    from service_desk_interfaces.msg import DialogueAct, DialogueState, Utterance, VisitorEvent
    from service_desk_interfaces.srv import IssueTicket, PrintTicket
    from service_desk_robot import ros_env
    from service_desk_robot.nodes import qos

    ros_env.prepare_run()
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    acts: list[tuple[float, DialogueAct]] = []
    got_act = threading.Condition()

    def issue(request, response):
        response.success = True
        t = response.ticket
        t.number, t.service_code, t.people_ahead, t.counters = "B001", request.service_code, 1, ["3"]
        return response

    def print_ticket(request, response):
        response.success = True
        return response

    def say(goal_handle):
        goal_handle.succeed()
        return Say.Result(success=True)

    def on_act(msg: DialogueAct) -> None:
        with got_act:
            acts.append((time.perf_counter(), msg))
            got_act.notify_all()

    def wait_act(count: int, kind: int | None = None, timeout_s: float = 5.0) -> float | None:
        deadline = time.monotonic() + timeout_s
        with got_act:
            while True:
                matching = [t for t, a in acts[count:] if kind is None or a.act == kind]
                if matching:
                    return matching[0]
                left = deadline - time.monotonic()
                if left <= 0 or not got_act.wait(left):
                    return None

    dialogue = subprocess.Popen(
        [Path(sys.prefix) / "bin" / "dialogue"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        fakes = Node("bench_dialogue_fakes", context=context)
        fakes.create_service(IssueTicket, "/ward_office/issue_ticket", issue)
        fakes.create_service(PrintTicket, "/printer/print_ticket", print_ticket)
        _say_server = ActionServer(fakes, Say, "/speech/say", say)  # lives as long as the node
        states: list[DialogueState] = []
        fakes.create_subscription(DialogueState, "/dialogue/state", states.append, qos.latched_state())
        events = fakes.create_publisher(VisitorEvent, "/desk/visitor_events", qos.events())
        heard = fakes.create_publisher(Utterance, "/speech/heard", qos.events())
        fakes.create_subscription(DialogueAct, "/dialogue/acts", on_act, qos.events())
        executor.add_node(fakes)
        threading.Thread(target=executor.spin, daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (heard.get_subscription_count() == 0 or not states):
            time.sleep(0.05)
        for _ in range(3):  # warm up: discovery of the actions and services settles
            heard.publish(Utterance(text="xin chào", final=True, confidence=1.0, source="bench"))
            while wait_act(len(acts), timeout_s=1.0) is not None:
                pass
        texts = [t for t in _texts() if "lấy số" not in t.lower()][:trials]
        latencies_ms, conversations_ms = [], []
        for text in texts:
            count = len(acts)
            start = time.perf_counter()
            heard.publish(Utterance(text=text, final=True, confidence=1.0, source="bench"))
            first = wait_act(count)
            if first is not None:
                latencies_ms.append((first - start) * 1000)
            # Let the robot finish its answer: the next line must not queue behind it.
            while wait_act(len(acts), timeout_s=0.3) is not None:
                pass
        for index in range(max(1, trials // 10)):
            heard.publish(Utterance(text="goodbye", final=True, source="bench"))
            wait_act(len(acts))
            count = len(acts)
            start = time.perf_counter()
            events.publish(VisitorEvent(event=VisitorEvent.ENGAGED, visitor_id=f"bench{index}"))
            if wait_act(count) is None:
                continue
            heard.publish(Utterance(text="I need a number for certified copies", final=True, source="bench"))
            done = wait_act(count, DialogueAct.TICKET)
            if done is not None:
                conversations_ms.append((done - start) * 1000)
            events.publish(VisitorEvent(event=VisitorEvent.LEFT, visitor_id=f"bench{index}"))
    finally:
        dialogue.terminate()
        dialogue.wait(timeout=10)
        executor.shutdown(timeout_sec=2)
        rclpy.try_shutdown(context=context)
    figures = []
    if latencies_ms:
        figures.append(
            at_most(
                "node: /speech/heard -> first /dialogue/acts p95",
                percentile(latencies_ms, 0.95),
                "ms",
                TARGET_MS,
                f"{len(latencies_ms)} of {len(texts)} utterances answered; node in its own process",
            )
        )
    if conversations_ms:
        figures.append(
            Figure(
                "node: full ticket conversation (engage -> TICKET act)",
                percentile(conversations_ms, 0.5),
                "ms",
                detail=f"median of {len(conversations_ms)}; speech, ward office and printer faked, instant",
            )
        )
    return figures


def run(quick: bool = False) -> list[Figure]:
    return bench_core(rounds=2 if quick else 10) + bench_node(trials=30 if quick else 150)


if __name__ == "__main__":
    print_table(run(quick="--quick" in sys.argv))
