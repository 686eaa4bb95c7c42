"""service_desk_robot.ros_env: loopback discovery, a domain id per run, temporary logs."""

import os
import subprocess
import sys

from service_desk_robot import ros_env


def test_the_test_session_itself_runs_on_loopback_with_its_own_domain():
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert int(os.environ["ROS_DOMAIN_ID"]) in ros_env.DOMAIN_ID_RANGE
    assert "ROS_LOCALHOST_ONLY" not in os.environ
    assert sys.prefix in os.environ["AMENT_PREFIX_PATH"].split(os.pathsep)
    assert os.path.isdir(os.environ["ROS_LOG_DIR"])


def test_a_claimed_domain_id_is_not_handed_out_again_while_held():
    claimed = {ros_env.claim_domain_id() for _ in range(5)}
    assert len(claimed) == 5
    assert int(os.environ["ROS_DOMAIN_ID"]) not in claimed


def test_parallel_runs_in_other_processes_get_distinct_domains():
    code = (
        "import os, sys, time\n"
        "os.environ.pop('SERVICE_DESK_ROS_SESSION', None); os.environ.pop('ROS_DOMAIN_ID', None)\n"
        "from service_desk_robot import ros_env\n"
        "env = ros_env.prepare_run()\n"
        "print(env['ROS_DOMAIN_ID'], flush=True)\n"
        "sys.stdin.read()\n"
    )
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        ids = [int(child.stdout.readline()) for child in children]
    finally:
        for child in children:
            child.stdin.close()
            child.wait(timeout=30)
    assert len(set(ids)) == 4
    assert int(os.environ["ROS_DOMAIN_ID"]) not in ids


def test_loopback_defaults_override_the_deprecated_localhost_only_flag():
    env = {"ROS_LOCALHOST_ONLY": "1", "PATH": "/usr/bin"}
    ros_env.apply_loopback_defaults(env)
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert "ROS_LOCALHOST_ONLY" not in env
    assert env["PATH"].split(os.pathsep)[0] == os.path.join(sys.prefix, "bin")


def test_a_nested_run_keeps_its_parents_domain(monkeypatch):
    monkeypatch.setenv(ros_env.SESSION_MARKER, "1:42")
    monkeypatch.setenv("ROS_DOMAIN_ID", "42")
    assert ros_env.prepare_run()["ROS_DOMAIN_ID"] == "42"
