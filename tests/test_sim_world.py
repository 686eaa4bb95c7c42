"""The lobby world: valid SDF (<= 1.9) for Gazebo per `ign sdf -k`, and what the renderer
reads from it (camera on the robot, lights, floor)."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from service_desk_robot.sim.lobby import DEFAULT_WORLD, WorldError, read_world
from service_desk_robot.sim.lobby.world import sdf_version

IGN = shutil.which("ign")
needs_ign = pytest.mark.skipif(IGN is None, reason="Debian's ignition-tools (ign sdf) is not installed")


def ign_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IGN, "sdf", "-k", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_world_is_sdf_1_9_or_lower() -> None:
    # `ign sdf -k` exits 0 on a 1.10 file it cannot convert: check the version ourselves.
    assert sdf_version(DEFAULT_WORLD) <= (1, 9)


@needs_ign
def test_ign_sdf_validates_the_world() -> None:
    result = ign_check(DEFAULT_WORLD)
    assert result.returncode == 0, result.stderr
    assert "Valid" in result.stdout
    assert "Error" not in result.stderr


@needs_ign
def test_ign_sdf_rejects_a_broken_copy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sdf"
    broken.write_text(DEFAULT_WORLD.read_text().replace("<size>12 10 0.1</size>", "<size>12 10</size>", 1))
    assert ign_check(broken).returncode != 0


def test_camera_light_and_floor() -> None:
    world = read_world()
    camera = world.camera
    x, y, z = camera.position
    assert math.hypot(x, y) < 0.5, "the camera is on the robot at the origin"
    assert 1.2 <= z <= 1.4
    assert camera.forward[0] > 0.95, "looking into the lobby (+x)"
    assert 0 < camera.forward[2] < 0.3, "tilted slightly up, towards standing visitors' faces"
    assert (camera.width, camera.height) == (640, 480)
    assert camera.fx == pytest.approx(320 / math.tan(camera.horizontal_fov_rad / 2))
    assert world.sun_direction[2] < 0, "the sun shines downwards"
    assert 0.3 < world.ambient < 0.9
    assert world.floor_bounds == pytest.approx((-2.0, 10.0, -5.0, 5.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not xml <", "malformed XML"),
        ("<robot/>", "not <sdf>"),
        ('<sdf version="1.10"><world name="w"/></sdf>', "newer than 1.9"),
        ('<sdf version="1.9"><world name="w"/></sdf>', "no <sensor type='camera'>"),
        ('<sdf version="1.9"/>', "no <world>"),
    ],
)
def test_bad_worlds(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "w.sdf"
    path.write_text(text)
    with pytest.raises(WorldError, match=message):
        read_world(path)


def test_missing_world() -> None:
    with pytest.raises(WorldError, match="cannot read world"):
        read_world(Path("/no/such/world.sdf"))
