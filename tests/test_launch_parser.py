"""Reading launch files: what a node would be started with, scoping, and errors that name
the file and line (with nothing started)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from launch_fixtures.demo_prefix import FIXTURES, make_demo_prefix

from service_desk_robot.launching import LaunchFileError, load_launch_file

CLI = [sys.executable, "-m", "service_desk_robot.cli"]


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_demo_prefix(tmp_path_factory.mktemp("prefix"))


def write(folder: Path, text: str, name: str = "test.launch.xml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_params_file_with_defaults(demo_env: dict[str, str]) -> None:
    description = load_launch_file(FIXTURES / "params.launch.xml", environ=demo_env)
    assert [p.label for p in description.processes] == ["plain", "grouped", "included"]
    assert [a.name for a in description.arguments] == ["greeting", "use_group"]
    plain, grouped, included = description.processes
    assert plain.cmd[0].endswith("/lib/demo_pkg/echo_params")
    assert plain.cmd[1:3] == ("--flag", "two words")
    ros_args = list(plain.cmd[plain.cmd.index("--ros-args") + 1 :])
    assert ros_args[:2] == ["-r", "__node:=plain"]
    assert ros_args[3].endswith("share/demo_pkg/echo_params.yaml")
    assert ros_args[4:6] == ["-p", "greeting:=chào buổi sáng"]
    assert "group.inner:=fallback" in ros_args
    assert ros_args[-2:] == ["-r", "chatter:=/remapped/chatter"]
    assert plain.env == {"DEMO_FROM_ENV_TAG": "chào buổi sáng_topic"}
    assert (grouped.namespace, grouped.parameters) == ("/lobby/desk", (("greeting", "scoped"),))
    assert (included.namespace, included.parameters) == ("/lobby", (("extra", "inner default"),))
    # The group's <let> stayed inside the group.
    assert description.configurations["greeting"] == "chào buổi sáng"


def test_arguments_and_conditions(demo_env: dict[str, str]) -> None:
    description = load_launch_file(
        FIXTURES / "params.launch.xml", {"greeting": "hello", "use_group": "false"}, environ=demo_env
    )
    assert [p.label for p in description.processes] == ["plain", "after_group"]
    assert description.processes[1].parameters == (("greeting", "hello"),)


def test_package_launch_file_and_duplicate_labels(tmp_path: Path, demo_env: dict[str, str]) -> None:
    path = write(
        tmp_path,
        """
        <launch>
          <include file="$(find-pkg-share demo_pkg)/launch/talk.launch.xml"/>
          <group>
            <push-ros-namespace namespace="/second"/>
            <include file="$(find-pkg-share demo_pkg)/launch/talk.launch.xml"/>
          </group>
          <executable cmd="python3 -c 'print(1)'" cwd="/" output="both"/>
        </launch>
        """,
    )
    description = load_launch_file(path, environ=demo_env)
    assert [p.label for p in description.processes] == [
        "talker",
        "listener",
        "talker-2",
        "listener-2",
        "python3",
    ]
    assert description.processes[2].namespace == "/second"
    assert description.processes[4].cmd[1:] == ("-c", "print(1)")


BAD_FILES = [
    (
        "unknown tag",
        "<launch>\n  <arg name='a' default='1'/>\n  <nodes pkg='demo_pkg'/>\n</launch>",
        3,
        "unknown tag",
    ),
    (
        "unknown attribute",
        "<launch>\n  <node pkg='demo_pkg' exec='talker'\n        colour='red'/>\n</launch>",
        2,
        "unknown attribute(s) 'colour'",
    ),
    (
        "unknown child",
        "<launch>\n<node pkg='demo_pkg' exec='talker'>\n<remaps from='a' to='b'/></node></launch>",
        3,
        "unexpected child",
    ),
    (
        "bad substitution",
        "<launch>\n\n  <let name='x' value='$(var nope)'/>\n</launch>",
        3,
        "'nope' is not set",
    ),
    (
        "unknown substitution",
        "<launch>\n<node pkg='demo_pkg' exec='$(exec talker)'/>\n</launch>",
        2,
        "unknown substitution",
    ),
    ("missing argument", "<launch>\n  <arg name='robot_id'/>\n</launch>", 2, "pass robot_id:=VALUE"),
    (
        "missing exec",
        "<launch>\n<node pkg='demo_pkg' exec='nothere'/>\n</launch>",
        2,
        "'nothere' of package 'demo_pkg' not installed",
    ),
    (
        "missing package",
        "<launch>\n<node pkg='no_pkg' exec='talker'/>\n</launch>",
        2,
        "package 'no_pkg' not found",
    ),
    (
        "missing command",
        "<launch>\n<executable cmd='no-such-program-xyz --x'/>\n</launch>",
        2,
        "'no-such-program-xyz' not found",
    ),
    (
        "missing params file",
        "<launch>\n<node pkg='demo_pkg' exec='talker'>\n<param from='/no/p.yaml'/></node></launch>",
        3,
        "params file /no/p.yaml does not exist",
    ),
    (
        "missing include",
        "<launch>\n\n<include file='/no/such.launch.xml'/>\n</launch>",
        3,
        "cannot read launch file /no/such.launch.xml",
    ),
    (
        "bad boolean",
        "<launch>\n<node pkg='demo_pkg' exec='talker' respawn='yes'/>\n</launch>",
        2,
        "must be true or false",
    ),
    (
        "bad delay",
        "<launch>\n<node pkg='demo_pkg' exec='crasher' respawn_delay='soon'/>\n</launch>",
        2,
        "must be a number",
    ),
    (
        "bad output",
        "<launch>\n<node pkg='demo_pkg' exec='talker' output='loud'/>\n</launch>",
        2,
        "'output' must be one of",
    ),
    (
        "missing attribute",
        "<launch>\n<node pkg='demo_pkg'/>\n</launch>",
        2,
        "missing required attribute(s) exec",
    ),
    ("let without value", "<launch>\n<let name='a'/>\n</launch>", 2, "missing required attribute(s) value"),
    ("malformed XML", "<launch>\n<node pkg='demo_pkg' exec='talker'>\n</launch>", 3, "malformed XML"),
    ("wrong root", "<robot>\n</robot>", 1, "root element must be <launch>"),
    ("stray text", "<launch>\n  hello\n</launch>", 2, "unexpected text 'hello'"),
]


@pytest.mark.parametrize(("case", "text", "line", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_file_names_file_and_line(
    tmp_path: Path, demo_env: dict[str, str], case: str, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(LaunchFileError) as caught:
        load_launch_file(path, environ=demo_env)
    assert (caught.value.path, caught.value.line) == (path, line), case
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_error_in_included_file_names_that_file(tmp_path: Path, demo_env: dict[str, str]) -> None:
    inner = write(
        tmp_path,
        "<launch>\n\n\n  <node pkg='demo_pkg' exec='talker' nmae='x'/>\n</launch>",
        "inner.launch.xml",
    )
    outer = write(tmp_path, "<launch>\n  <include file='$(dirname)/inner.launch.xml'/>\n</launch>")
    with pytest.raises(LaunchFileError) as caught:
        load_launch_file(outer, environ=demo_env)
    assert (caught.value.path, caught.value.line) == (inner, 4)


def test_disabled_branches_are_checked_too(tmp_path: Path, demo_env: dict[str, str]) -> None:
    path = write(
        tmp_path,
        "<launch>\n  <group if='false'>\n"
        "    <node pkg='demo_pkg' exec='talker' nmae='x'/>\n  </group>\n</launch>",
    )
    with pytest.raises(LaunchFileError) as caught:
        load_launch_file(path, environ=demo_env)
    assert caught.value.line == 3
    assert "unknown attribute(s) 'nmae'" in caught.value.message


def test_include_cycle(tmp_path: Path, demo_env: dict[str, str]) -> None:
    write(tmp_path, "<launch>\n  <include file='$(dirname)/a.launch.xml'/>\n</launch>", "b.launch.xml")
    a = write(tmp_path, "<launch>\n\n  <include file='$(dirname)/b.launch.xml'/>\n</launch>", "a.launch.xml")
    with pytest.raises(LaunchFileError) as caught:
        load_launch_file(a, environ=demo_env)
    assert (caught.value.path.name, caught.value.line) == ("b.launch.xml", 2)
    assert "include cycle" in caught.value.message


def test_arguments_in_top_level_groups_are_listed(tmp_path: Path, demo_env: dict[str, str]) -> None:
    path = write(
        tmp_path,
        """
        <launch>
          <arg name="a" default="1" description="first"/>
          <group><arg name="b" default="2" description="in a group"/></group>
          <include file="$(find-pkg-share demo_pkg)/launch/inner.launch.xml">
            <arg name="node_name" value="n"/>
          </include>
        </launch>
        """,
    )
    description = load_launch_file(path, environ=demo_env)
    assert [a.name for a in description.arguments] == ["a", "b"]
    assert description.declared == {"a", "b", "node_name", "extra"}


def test_missing_top_file() -> None:
    with pytest.raises(LaunchFileError, match="cannot read launch file"):
        load_launch_file("/no/such/file.launch.xml")


def test_cli_bad_file_exits_2_and_starts_nothing(tmp_path: Path, demo_env: dict[str, str]) -> None:
    marker = tmp_path / "started"
    path = write(
        tmp_path,
        f"""
        <launch>
          <executable cmd="touch {marker}"/>
          <node pkg="demo_pkg" exec="talker" colour="red"/>
        </launch>
        """,
    )
    result = subprocess.run(
        [*CLI, "launch", str(path)], env=demo_env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert f"{path}:3: <node>: unknown attribute(s) 'colour'" in result.stderr
    assert not marker.exists()


def test_cli_print_and_show_args(demo_env: dict[str, str]) -> None:
    result = subprocess.run(
        [*CLI, "launch", "demo_pkg", "params.launch.xml", "use_group:=false", "--print"],
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert [line.split("]")[0] for line in result.stdout.splitlines()] == ["[plain", "[after_group"]
    shown = subprocess.run(
        [*CLI, "launch", "--show-args", str(FIXTURES / "params.launch.xml"), "typo:=1"],
        env=demo_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "greeting  default: 'chào buổi sáng'" in shown.stdout
    assert "argument 'typo' is not declared" in shown.stderr
