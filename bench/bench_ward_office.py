"""Ward office link: server throughput, queue poll latency, ROS round trip of a ticket.

The server runs as its own process (`service-desk-robot ward-office-server`, fresh SQLite
file), as in the lobby. Measured through the robot's own client (WardOfficeClient, keep-
alive, idempotency key on every ticket):
- tickets issued per second, one client in a loop, and 8 concurrent clients (threads,
  each with its own connection; bounded count);
- live queue poll latency, p50/p95, of the conditional GET the bridge makes (304);
- /ward_office/issue_ticket round trip through ROS (bridge node + caller in this process,
  own rclpy context), p95.
Targets (issue 3): >= 300 tickets/s sequential, poll p95 <= 5 ms, ROS round trip p95 <= 50 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from service_desk_robot import ros_env
from service_desk_robot.benchmarking import Figure, at_least, at_most, percentile, print_table
from service_desk_robot.robot.ward_office.client import WardOfficeClient

TOKEN = "robot-dev-token"
SERVICES = ("civil_status", "certification", "land_construction", "business_food_safety", "social_affairs")
CONCURRENT_CLIENTS = 8


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [
        str(Path(sys.prefix) / "bin" / "service-desk-robot"),
        "ward-office-server",
        "--port",
        str(port),
        "--db",
        str(folder / "bench.sqlite3"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the ward office server did not start")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used: load-independent cost figures."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _issue(client: WardOfficeClient, i: int) -> None:
    client.issue_ticket(SERVICES[i % len(SERVICES)], idempotency_key=f"bench-{uuid.uuid4()}")


def _sequential(url: str, count: int) -> float:
    client = WardOfficeClient(url, TOKEN)
    try:
        for i in range(10):  # warm-up: connection, first-call code paths
            _issue(client, i)
        started = time.perf_counter()
        for i in range(count):
            _issue(client, i)
        return count / (time.perf_counter() - started)
    finally:
        client.close()


def _concurrent(url: str, per_client: int) -> float:
    clients = [WardOfficeClient(url, TOKEN) for _ in range(CONCURRENT_CLIENTS)]
    start = threading.Barrier(CONCURRENT_CLIENTS + 1)

    def work(client: WardOfficeClient) -> None:
        _issue(client, 0)
        start.wait()
        for i in range(per_client):
            _issue(client, i)

    try:
        with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
            futures = [pool.submit(work, c) for c in clients]
            start.wait()
            started = time.perf_counter()
            for future in futures:
                future.result()
            return CONCURRENT_CLIENTS * per_client / (time.perf_counter() - started)
    finally:
        for client in clients:
            client.close()


def _poll_latencies_ms(url: str, count: int) -> list[float]:
    client = WardOfficeClient(url, TOKEN)
    try:
        _, etag = client.queue()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            _, etag = client.queue(etag)
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        client.close()


def _ros_round_trips_ms(url: str, outbox: Path, count: int) -> list[float]:
    ros_env.apply_loopback_defaults()
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from service_desk_interfaces.srv import IssueTicket
    from service_desk_robot.nodes.ward_office_bridge import WardOfficeBridge

    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    bridge = WardOfficeBridge(
        context=context,
        parameter_overrides=[Parameter("server_url", value=url), Parameter("outbox_dir", value=str(outbox))],
    )
    caller = Node("bench_ticket_caller", context=context)
    client = caller.create_client(IssueTicket, "/ward_office/issue_ticket")
    executor.add_node(bridge)
    executor.add_node(caller)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        if not client.wait_for_service(timeout_sec=10):
            raise RuntimeError("the bridge's issue_ticket service did not appear")
        samples = []
        for i in range(count + 10):
            done = threading.Event()
            request = IssueTicket.Request(service_code=SERVICES[i % len(SERVICES)], language="vi")
            started = time.perf_counter()
            future = client.call_async(request)
            future.add_done_callback(lambda _: done.set())  # noqa: B023 - used before the next loop
            if not done.wait(10) or not future.result().success:
                raise RuntimeError(f"issue_ticket failed: {future.result() if future.done() else 'no reply'}")
            if i >= 10:  # the first calls warm up discovery and connections
                samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        executor.shutdown(timeout_sec=2)
        bridge.close()
        bridge.destroy_node()
        caller.destroy_node()
        rclpy.try_shutdown(context=context)


def run(quick: bool = False) -> list[Figure]:
    sequential_count = 300 if quick else 1500
    per_client = 40 if quick else 200
    polls = 300 if quick else 2000
    round_trips = 100 if quick else 500
    with tempfile.TemporaryDirectory(prefix="bench-ward-office-") as folder:
        process, url = _start_server(Path(folder))
        try:
            cpu_before = _cpu_s(process.pid)
            sequential = _sequential(url, sequential_count)
            server_cpu_ms = (_cpu_s(process.pid) - cpu_before) / (sequential_count + 10) * 1000
            concurrent = _concurrent(url, per_client)
            poll_ms = _poll_latencies_ms(url, polls)
            ros_ms = _ros_round_trips_ms(url, Path(folder) / "outbox", round_trips)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    return [
        at_least(
            "tickets issued, sequential", sequential, "tickets/s", 300, f"n={sequential_count}, keep-alive"
        ),
        Figure(
            "server CPU per ticket",
            server_cpu_ms,
            "ms",
            detail=f"~{1000 / max(server_cpu_ms, 1e-3):.0f}/s per core; load {os.getloadavg()[0]:.1f}",
        ),
        Figure(
            f"tickets issued, {CONCURRENT_CLIENTS} concurrent clients",
            concurrent,
            "tickets/s",
            detail=f"n={CONCURRENT_CLIENTS * per_client}",
        ),
        Figure("queue poll (304) p50", percentile(poll_ms, 0.5), "ms", detail=f"n={polls}"),
        at_most("queue poll (304) p95", percentile(poll_ms, 0.95), "ms", 5, f"n={polls}"),
        at_most("issue_ticket ROS round trip p95", percentile(ros_ms, 0.95), "ms", 50, f"n={round_trips}"),
    ]


if __name__ == "__main__":
    ros_env.prepare_run()
    print_table(run(quick="--quick" in sys.argv))
