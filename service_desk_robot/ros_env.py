"""The one place that sets the ROS environment of this project's processes.

Every process (tests, CLI runs, launched nodes, benchmarks) keeps DDS discovery on
loopback, gets a ROS_DOMAIN_ID of its own run, logs to a temporary folder and finds this
venv's ament prefix. Domain ids are claimed with an exclusive lock file held for the life
of the claiming process, so parallel runs on one machine never share a domain; child
processes inherit the environment and with it the claimed domain.
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

# Fast DDS derives UDP ports from the domain id; ids up to 101 stay clear of Linux's
# ephemeral port range.
DOMAIN_ID_RANGE = range(1, 102)
LOCK_DIR = Path(tempfile.gettempdir()) / "service-desk-robot-domains"
# Set in the environment of every process a prepared run starts: nested runs reuse it.
SESSION_MARKER = "SERVICE_DESK_ROS_SESSION"

_held_locks: list[int] = []  # file descriptors kept open: the lock lasts as long as we do


class DomainIdsExhaustedError(RuntimeError):
    """Every ROS domain id in DOMAIN_ID_RANGE is held by another run on this machine."""


def claim_domain_id(rng: random.Random | None = None) -> int:
    """Return a domain id no other run on this machine holds, and hold it until exit."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    candidates = list(DOMAIN_ID_RANGE)
    (rng or random.Random()).shuffle(candidates)
    for domain_id in candidates:
        fd = os.open(LOCK_DIR / f"{domain_id}.lock", os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held_locks.append(fd)
        return domain_id
    raise DomainIdsExhaustedError(
        f"all ROS domain ids {DOMAIN_ID_RANGE.start}-{DOMAIN_ID_RANGE.stop - 1} are in use"
    )


def apply_loopback_defaults(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Settings that must hold in any process that may start DDS, prepared or not.

    Nodes call this before rclpy.init(): a node started by hand still stays on loopback.
    """
    env = os.environ if env is None else env
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    # ROS_LOCALHOST_ONLY is deprecated on Jazzy and conflicts with the setting above.
    env.pop("ROS_LOCALHOST_ONLY", None)
    env.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    prefixes = [p for p in env.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if sys.prefix not in prefixes:
        env["AMENT_PREFIX_PATH"] = os.pathsep.join([sys.prefix, *prefixes])
    bin_dir = str(Path(sys.prefix) / "bin")
    paths = env.get("PATH", "").split(os.pathsep)
    if bin_dir not in paths:
        env["PATH"] = os.pathsep.join([bin_dir, *[p for p in paths if p]])
    return env


def prepare_run(*, fresh_domain: bool = False, log_dir: Path | None = None) -> dict[str, str]:
    """Make this process the root of a run and return the environment for its children.

    A run nested in a prepared one (a CLI command started by the launch runner) keeps
    the parent's domain and log folder. Otherwise a domain id is claimed, unless the user
    set ROS_DOMAIN_ID explicitly and `fresh_domain` is false (a robot deployment that
    wants a fixed domain); test sessions pass `fresh_domain=True`.
    """
    env = os.environ
    apply_loopback_defaults(env)
    if env.get(SESSION_MARKER) and not fresh_domain:
        return dict(env)
    if fresh_domain or "ROS_DOMAIN_ID" not in env:
        env["ROS_DOMAIN_ID"] = str(claim_domain_id())
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        env["ROS_LOG_DIR"] = str(log_dir)
    elif fresh_domain or "ROS_LOG_DIR" not in env:
        env["ROS_LOG_DIR"] = tempfile.mkdtemp(prefix="service-desk-robot-ros-log-")
    env[SESSION_MARKER] = f"{os.getpid()}:{env['ROS_DOMAIN_ID']}"
    return dict(env)
