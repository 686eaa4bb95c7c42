"""The rendered lobby without ROS: visitors walk, stand facing the robot and leave, their
photographed faces are found where they stand, commands are checked, output is
deterministic."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from service_desk_robot.sim.lobby import (
    FACES,
    CommandError,
    Crowd,
    Lobby,
    Phase,
    UnknownFaceError,
)

STOP = [1.1, 0.0]  # in front of the robot, as the scenarios stop visitors
HAAR = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def haar_faces(image: np.ndarray) -> list[tuple[int, int, int, int]]:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return [tuple(int(v) for v in box) for box in HAAR.detectMultiScale(gray, 1.1, 5, minSize=(24, 24))]


@pytest.fixture(scope="module")
def lobby() -> Iterator[Lobby]:
    with Lobby() as world:
        yield world


@pytest.fixture(autouse=True)
def _empty_lobby(lobby: Lobby) -> None:
    lobby.clear()


# -- kinematics (no rendering) ----------------------------------------------------------


def test_walk_stand_and_leave() -> None:
    crowd = Crowd()
    crowd.arrive("v01", "astronaut", [[6.0, 2.5], [3.0, 0.0], [1.1, 0.0]], speed_mps=1.0)
    length = math.dist((6.0, 2.5), (3.0, 0.0)) + 1.9
    visitor = crowd.visitors["v01"]
    assert visitor.yaw == pytest.approx(math.atan2(-2.5, -3.0))  # facing where it walks
    crowd.step(length - 0.5)
    assert visitor.phase is Phase.WALKING
    assert visitor.position == pytest.approx((1.6, 0.0))
    crowd.step(1.0)
    assert (visitor.phase, visitor.position) == (Phase.STANDING, (1.1, 0.0))
    assert visitor.yaw == pytest.approx(math.pi)  # facing the robot
    crowd.leave("v01")
    assert visitor.yaw == pytest.approx(0.0)  # turned to walk back
    assert crowd.step(1.0) == []
    assert visitor.position == pytest.approx((2.1, 0.0))
    assert crowd.step(length) == ["v01"]
    assert crowd.visitors == {}


def test_leaving_mid_walk_turns_back_from_where_it_is() -> None:
    crowd = Crowd()
    crowd.arrive("v01", "hopper", [[5.0, 0.0], [3.0, 0.0], [1.0, 0.0]], speed_mps=2.0)
    crowd.step(1.5)  # 3 m: past the middle point
    crowd.leave("v01")
    crowd.step(1.0)
    assert crowd.visitors["v01"].position == pytest.approx((4.0, 0.0))
    assert crowd.step(0.5) == ["v01"]


def test_same_commands_same_frames() -> None:
    images = []
    for _ in range(2):
        with Lobby() as world:
            world.arrive("v01", "astronaut", [[6.0, 2.5], STOP], 1.2)
            world.arrive("v02", "hopper", [[8.0, -2.0], [3.0, -1.5]], 1.0)
            for _ in range(20):
                world.step(0.1)
            images.append(world.render().image)
    assert np.array_equal(images[0], images[1])


# -- rendering ---------------------------------------------------------------------------


def test_empty_lobby_has_no_face(lobby: Lobby) -> None:
    frame = lobby.render()
    assert frame.image.shape == (480, 640, 3)
    assert frame.image.dtype == np.uint8
    assert haar_faces(frame.image) == []


@pytest.mark.parametrize("face", ["astronaut", "hopper"])
def test_visitor_at_the_stop_point_is_seen_where_it_stands(lobby: Lobby, face: str) -> None:
    lobby.arrive("v01", face, [[6.0, 2.5], STOP], speed_mps=1.2)
    lobby.step(5.0)  # 5.5 m at 1.2 m/s: there
    assert lobby.crowd.visitors["v01"].phase is Phase.STANDING
    frame = lobby.render()
    expected = frame.camera.project(lobby.face_centre("v01"))
    assert expected is not None
    faces = haar_faces(frame.image)
    assert faces, f"no face found in the frame of {face}"
    x, y, w, h = max(faces, key=lambda box: box[2])
    assert abs(x + w / 2 - expected[0]) < w / 3
    assert abs(y + h / 2 - expected[1]) < h / 3
    # Life size: a 0.15 m face about 0.74 m from the lens (Haar boxes run a little large).
    distance = math.dist(lobby.face_centre("v01"), frame.camera.position)
    assert 0.6 < w / (frame.camera.fx * 0.15 / distance) < 1.6


def test_visitor_walking_away_shows_no_face(lobby: Lobby) -> None:
    lobby.arrive("v01", "astronaut", [[4.0, 0.0], STOP], speed_mps=1.0)
    lobby.step(3.0)
    lobby.leave("v01")
    lobby.step(0.5)
    assert haar_faces(lobby.render().image) == []


def test_intrinsics_match_the_image(lobby: Lobby) -> None:
    frame = lobby.render()
    camera = frame.camera
    assert (camera.cx, camera.cy) == (320.0, 240.0)
    assert camera.fx == pytest.approx(camera.fy)
    centre = tuple(p + 5.0 * f for p, f in zip(camera.position, camera.forward, strict=True))
    assert camera.project(centre) == pytest.approx((320.0, 240.0))
    assert camera.project(tuple(p - f for p, f in zip(camera.position, camera.forward, strict=True))) is None


def test_other_image_size() -> None:
    with Lobby(width=320, height=240) as small:
        frame = small.render()
    assert frame.image.shape == (240, 320, 3)
    assert frame.camera.fx == pytest.approx(160 / math.tan(frame.camera.horizontal_fov_rad / 2))


# -- commands ----------------------------------------------------------------------------


def test_commands(lobby: Lobby) -> None:
    arrive = {"op": "arrive", "visitor": "v01", "face": "hopper", "path": [[5, 1], STOP], "speed_mps": 1.5}
    assert lobby.apply(arrive) == "v01 arrives (hopper)"
    assert lobby.crowd.visitors["v01"].speed_mps == 1.5
    assert lobby.apply({"op": "leave", "visitor": "v01"}) == "v01 leaves"
    assert lobby.crowd.visitors["v01"].phase is Phase.LEAVING
    lobby.apply({"op": "arrive", "visitor": "v02", "face": "astronaut", "path": [STOP]})  # default speed
    assert lobby.apply({"op": "clear"}) == "cleared the lobby"
    assert lobby.crowd.visitors == {}


GOOD = {"op": "arrive", "visitor": "v09", "face": "astronaut", "path": [[5, 1], STOP], "speed_mps": 1.0}


@pytest.mark.parametrize(
    ("command", "error", "message"),
    [
        (["arrive"], CommandError, "a command is a JSON object"),
        ({"op": "dance", "visitor": "v09"}, CommandError, "unknown op 'dance'"),
        ({"op": "leave"}, CommandError, "needs a 'visitor' id"),
        ({"op": "leave", "visitor": "nobody"}, CommandError, "nobody is not in the lobby"),
        ({**GOOD, "face": "chelsea_owner"}, UnknownFaceError, "unknown face 'chelsea_owner'"),
        ({**GOOD, "face": None}, CommandError, "'face' must be one of"),
        ({**GOOD, "path": []}, CommandError, "non-empty list"),
        ({**GOOD, "path": "1,2"}, CommandError, "non-empty list"),
        ({**GOOD, "path": [[1, 2, 3]]}, CommandError, "point 0 is not [x, y]"),
        ({**GOOD, "path": [[1, "a"]]}, CommandError, "point 0 is not [x, y]"),
        ({**GOOD, "path": [[1, 0], [float("nan"), 0]]}, CommandError, "point 1 is not finite"),
        ({**GOOD, "path": [[30, 0]]}, CommandError, "outside the lobby"),
        ({**GOOD, "speed_mps": 0}, CommandError, "speed must be > 0"),
        ({**GOOD, "speed_mps": "fast"}, CommandError, "'speed_mps' must be a number"),
    ],
)
def test_bad_commands_change_nothing(lobby: Lobby, command: object, error: type, message: str) -> None:
    lobby.apply({"op": "arrive", "visitor": "v01", "face": "astronaut", "path": [STOP]})
    before = {k: (v.position, v.phase) for k, v in lobby.crowd.visitors.items()}
    with pytest.raises(error) as caught:
        lobby.apply(command)
    assert message in str(caught.value)
    assert {k: (v.position, v.phase) for k, v in lobby.crowd.visitors.items()} == before


def test_every_face_has_a_photograph() -> None:
    assert set(FACES) == {"astronaut", "cameraman", "hopper"}
