"""The lobby renderer: CPU and wall time per 640x480 frame (p95) with visitors walking,
and how often a visitor standing at the stop point is found by the Haar detector.

Target (platform notes): about 60 ms of CPU per frame (TinyRenderer); p50 <= 80 ms keeps
the sim_camera node at 10 Hz on one core. Wall time depends on the machine's load and is
informative only.
"""

from __future__ import annotations

import time

import cv2

from service_desk_robot.benchmarking import Figure, at_least, at_most, percentile, print_table
from service_desk_robot.sim.lobby import Lobby

STOP = [1.1, 0.0]


def run(quick: bool = False) -> list[Figure]:
    frames = 15 if quick else 60
    cpu, wall = [], []
    with Lobby() as lobby:
        lobby.arrive("v01", "astronaut", [[6.0, 2.5], STOP], 1.2)
        lobby.arrive("v02", "hopper", [[8.0, -2.0], [3.0, -1.5]], 1.0)
        lobby.arrive("v03", "cameraman", [[9.0, 2.5], [5.0, 1.5]], 1.0)
        lobby.render()  # textures and meshes are created on the first frame
        for _ in range(frames):
            lobby.step(0.1)
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            lobby.render()
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started_wall) * 1000)
        haar = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        found = 0
        trials = 5 if quick else 20
        for trial in range(trials):
            lobby.clear()
            face = ("astronaut", "hopper")[trial % 2]
            lobby.arrive(f"s{trial}", face, [[4.0, 0.3 * (trial % 5) - 0.6], STOP], 1.0)
            lobby.step(5.0)
            gray = cv2.cvtColor(lobby.render().image, cv2.COLOR_BGR2GRAY)
            found += len(haar.detectMultiScale(gray, 1.1, 5, minSize=(24, 24))) > 0
    detail = f"{frames} frames, 3 visitors walking"
    return [
        at_most("lobby render CPU per frame p50", percentile(cpu, 0.5), "ms", 80, detail),
        Figure("lobby render CPU per frame p95", percentile(cpu, 0.95), "ms", detail=detail),
        Figure(
            "lobby render wall time per frame p95",
            percentile(wall, 0.95),
            "ms",
            detail=detail + ", load-bound",
        ),
        at_least(
            "visitor at the stop point found (Haar)", 100.0 * found / trials, "%", 100, f"{trials} visitors"
        ),
    ]


if __name__ == "__main__":
    print_table(run())
