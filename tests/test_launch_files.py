"""Every launch file of the project parses with its default arguments, every node it
starts is one of this package's installed console scripts, and every argument has a
default and a description (style rule 11)."""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

import pytest

from service_desk_robot.launching import load_launch_file

REPO = Path(__file__).resolve().parent.parent
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.xml"))
PACKAGE = "service_desk_robot"


def console_scripts() -> set[str]:
    return {ep.name for ep in distribution(PACKAGE).entry_points if ep.group == "console_scripts"}


@pytest.mark.skipif(not LAUNCH_FILES, reason="launch/ holds no *.launch.xml yet")
@pytest.mark.parametrize("path", LAUNCH_FILES, ids=[p.name for p in LAUNCH_FILES])
def test_launch_file_parses_and_starts_installed_nodes(path: Path) -> None:
    description = load_launch_file(path)
    assert description.processes, f"{path.name} starts nothing"
    scripts = console_scripts()
    for process in description.processes:
        if not process.is_node:
            continue  # a plain <executable>: the parser already checked that it exists
        assert process.package == PACKAGE, f"{process.source}: node of package {process.package}"
        assert process.executable in scripts, (
            f"{process.source}: {process.executable} is not a console script"
        )
    for argument in description.arguments:
        assert argument.default is not None, f"{argument.source}: <arg {argument.name}> has no default"
        assert argument.description, f"{argument.source}: <arg {argument.name}> has no description"
