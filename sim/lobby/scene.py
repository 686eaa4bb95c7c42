"""The lobby as PyBullet renders it: the SDF world plus the visitors of a `Crowd`.

    lobby = Lobby()                                   # loads sim/worlds/lobby.sdf
    lobby.arrive("v01", "astronaut", [[6, 2.5], [1.1, 0]], speed_mps=1.2)
    lobby.step(0.1)                                   # simulated seconds
    frame = lobby.render()                            # frame.image: BGR uint8, frame.camera: intrinsics
    lobby.apply({"op": "leave", "visitor": "v01"})    # the JSON world commands of /sim/lobby_commands

PyBullet runs in DIRECT mode with its CPU TinyRenderer (no display, no GPU). The world's
links are pinned by mass 0; visitors are kinematic bodies (no physics step): a
cylinder body, a dark head block behind the face panel (seen from behind, no face) and a
quad textured with a real photograph, all placed from the crowd's positions at render
time, so output depends only on the commands and steps. Each Lobby owns its own
PyBullet client and temporary folder (meshes, textures), released by `close()`.
Not thread-safe: one owner thread calls it (the node serialises commands into it).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from service_desk_robot.sim.lobby.crowd import Crowd, Visitor
from service_desk_robot.sim.lobby.errors import CommandError, WorldError
from service_desk_robot.sim.lobby.faces import Portrait, portrait
from service_desk_robot.sim.lobby.world import DEFAULT_WORLD, CameraModel, WorldInfo, read_world

FACE_CENTRE_HEIGHT_M = 1.6  # an adult's face centre above the floor
BODY_RADIUS_M = 0.2
BODY_HEIGHT_M = 1.35
PANEL_OFFSET_M = BODY_RADIUS_M + 0.01  # the face panel just in front of the body
HEAD_DEPTH_M = 0.12
HEAD_RGBA = (0.12, 0.09, 0.07, 1.0)  # hair
CLOTHES_RGBA = (  # picked per visitor id, deterministically
    (0.20, 0.30, 0.60, 1.0),
    (0.60, 0.20, 0.20, 1.0),
    (0.25, 0.50, 0.30, 1.0),
    (0.55, 0.50, 0.35, 1.0),
    (0.35, 0.35, 0.40, 1.0),
    (0.85, 0.85, 0.80, 1.0),
)
DEFAULT_SPEED_MPS = 1.0


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # height x width x 3, BGR uint8
    camera: CameraModel  # the intrinsics (and pose) it was rendered with
    time_s: float  # simulated seconds since the lobby was built


@dataclass
class _Bodies:
    face: str
    body: int
    head: int
    panel: int


class Lobby:
    def __init__(
        self,
        world: Path = DEFAULT_WORLD,
        *,
        width: int | None = None,
        height: int | None = None,
        shadows: bool = False,  # TinyRenderer's shadows cost about 5x the render time
    ) -> None:
        import pybullet

        self._p = pybullet
        self.world: WorldInfo = read_world(Path(world))
        camera = self.world.camera
        self.camera = camera.with_size(width or camera.width, height or camera.height)
        self._shadows = shadows
        self.crowd = Crowd(self.world.floor_bounds)
        self.time_s = 0.0
        self._folder = Path(tempfile.mkdtemp(prefix="sdr-lobby-"))
        self._client = pybullet.connect(pybullet.DIRECT)
        try:
            with _quiet_native_output():  # the SDF importer prints warnings on stdout
                self._world_bodies = pybullet.loadSDF(str(self.world.path), physicsClientId=self._client)
        except pybullet.error as error:
            self.close()
            raise WorldError(f"PyBullet cannot load {self.world.path}: {error}") from error
        self._bodies: dict[str, _Bodies] = {}
        self._panel_shapes: dict[str, tuple[int, int]] = {}  # face -> (visual shape, texture)
        self._view = pybullet.computeViewMatrix(
            self.camera.position,
            [p + f for p, f in zip(self.camera.position, self.camera.forward, strict=True)],
            self.camera.up,
        )
        self._projection = pybullet.computeProjectionMatrixFOV(
            math.degrees(self.camera.vertical_fov_rad),
            self.camera.width / self.camera.height,
            self.camera.near_m,
            self.camera.far_m,
        )

    # -- the world commands ----------------------------------------------------------------

    def arrive(
        self, visitor_id: str, face: str, path: list[list[float]], speed_mps: float = DEFAULT_SPEED_MPS
    ) -> None:
        portrait(face)  # an unknown face fails before the visitor exists
        self.crowd.arrive(visitor_id, face, path, speed_mps)

    def leave(self, visitor_id: str) -> None:
        self.crowd.leave(visitor_id)

    def clear(self) -> None:
        self.crowd.clear()

    def apply(self, command: Mapping[str, Any]) -> str:
        """Apply one JSON world command; returns a one-line summary, CommandError if bad."""
        if not isinstance(command, Mapping):
            raise CommandError(f"a command is a JSON object, got {type(command).__name__}")
        op = command.get("op")
        if op == "clear":
            self.clear()
            return "cleared the lobby"
        visitor = command.get("visitor")
        if not isinstance(visitor, str) or not visitor:
            raise CommandError(f"'{op}' needs a 'visitor' id (a non-empty string)")
        if op == "arrive":
            face = command.get("face")
            if not isinstance(face, str):
                raise CommandError(f"arrive {visitor}: 'face' must be one of the face names")
            speed = command.get("speed_mps", DEFAULT_SPEED_MPS)
            if isinstance(speed, bool) or not isinstance(speed, (int, float)):
                raise CommandError(f"arrive {visitor}: 'speed_mps' must be a number, got {speed!r}")
            self.arrive(visitor, face, command.get("path"), float(speed))
            return f"{visitor} arrives ({face})"
        if op == "leave":
            self.leave(visitor)
            return f"{visitor} leaves"
        raise CommandError(f"unknown op {op!r}; expected arrive, leave or clear")

    def step(self, dt_s: float) -> list[str]:
        """Move simulated time on by `dt_s`; returns the ids of visitors who have left."""
        self.time_s += dt_s
        return self.crowd.step(dt_s)

    # -- rendering -------------------------------------------------------------------------

    def render(self) -> Frame:
        self._sync_bodies()
        p = self._p
        light = [-v * 10.0 for v in self.world.sun_direction]  # PyBullet wants the light's position
        _, _, rgba, _, _ = p.getCameraImage(
            self.camera.width,
            self.camera.height,
            self._view,
            self._projection,
            renderer=p.ER_TINY_RENDERER,
            lightDirection=light,
            lightColor=list(self.world.sun_color),
            lightAmbientCoeff=self.world.ambient,
            shadow=int(self._shadows),
            physicsClientId=self._client,
        )
        pixels = np.asarray(rgba, dtype=np.uint8).reshape(self.camera.height, self.camera.width, 4)
        return Frame(cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR), self.camera, self.time_s)

    def face_centre(self, visitor_id: str) -> tuple[float, float, float]:
        """Where a visitor's face centre is in the lobby frame (for tests and ground truth)."""
        visitor = self.crowd.visitors[visitor_id]
        x, y = visitor.position
        return (
            x + PANEL_OFFSET_M * math.cos(visitor.yaw),
            y + PANEL_OFFSET_M * math.sin(visitor.yaw),
            FACE_CENTRE_HEIGHT_M,
        )

    def close(self) -> None:
        if self._client is not None and self._p.isConnected(self._client):
            self._p.disconnect(self._client)
        self._client = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Lobby:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- bodies ----------------------------------------------------------------------------

    def _sync_bodies(self) -> None:
        """Create, move and remove PyBullet bodies to match the crowd."""
        for visitor_id in list(self._bodies):
            visitor = self.crowd.visitors.get(visitor_id)
            if visitor is None or visitor.face != self._bodies[visitor_id].face:
                self._remove(visitor_id)
        for visitor in self.crowd.visitors.values():
            if visitor.id not in self._bodies:
                self._bodies[visitor.id] = self._create(visitor)
            self._place(visitor, self._bodies[visitor.id])

    def _create(self, visitor: Visitor) -> _Bodies:
        p, client = self._p, self._client
        face = portrait(visitor.face)
        clothes = CLOTHES_RGBA[zlib.crc32(visitor.id.encode()) % len(CLOTHES_RGBA)]
        body_shape = p.createVisualShape(
            p.GEOM_CYLINDER,
            radius=BODY_RADIUS_M,
            length=BODY_HEIGHT_M,
            rgbaColor=clothes,
            physicsClientId=client,
        )
        head_shape = p.createVisualShape(
            p.GEOM_BOX,
            halfExtents=[HEAD_DEPTH_M / 2, face.width_m * 0.35, face.height_m * 0.3],
            rgbaColor=HEAD_RGBA,
            physicsClientId=client,
        )
        panel_shape, texture = self._panel_shape(face)
        body = p.createMultiBody(0, -1, body_shape, physicsClientId=client)
        head = p.createMultiBody(0, -1, head_shape, physicsClientId=client)
        panel = p.createMultiBody(0, -1, panel_shape, physicsClientId=client)
        p.changeVisualShape(
            panel, -1, textureUniqueId=texture, rgbaColor=[1, 1, 1, 1], physicsClientId=client
        )
        return _Bodies(visitor.face, body, head, panel)

    def _panel_shape(self, face: Portrait) -> tuple[int, int]:
        """A quad mesh of the portrait's size, facing local +x, and its texture (cached per face)."""
        if face.name not in self._panel_shapes:
            left, right = -face.width_m / 2, face.width_m / 2
            # Vertical placement: the face centre of the photo sits at the panel origin.
            top = face.face_centre_m[1]
            bottom = top - face.height_m
            mesh = self._folder / f"{face.name}.obj"
            mesh.write_text(
                f"v 0 {left} {bottom}\nv 0 {right} {bottom}\nv 0 {right} {top}\nv 0 {left} {top}\n"
                "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 1 0 0\n"
                "f 1/1/1 2/2/1 3/3/1\nf 1/1/1 3/3/1 4/4/1\n"
            )
            # Seen from the front (+x), u runs left to right along +y and v bottom to top.
            image = self._folder / f"{face.name}.png"
            cv2.imwrite(str(image), face.texture)
            shape = self._p.createVisualShape(
                self._p.GEOM_MESH, fileName=str(mesh), physicsClientId=self._client
            )
            texture = self._p.loadTexture(str(image), physicsClientId=self._client)
            self._panel_shapes[face.name] = (shape, texture)
        return self._panel_shapes[face.name]

    def _place(self, visitor: Visitor, bodies: _Bodies) -> None:
        p, client = self._p, self._client
        x, y = visitor.position
        cos_yaw, sin_yaw = math.cos(visitor.yaw), math.sin(visitor.yaw)
        orientation = p.getQuaternionFromEuler([0.0, 0.0, visitor.yaw])
        face = portrait(visitor.face)
        head_height = FACE_CENTRE_HEIGHT_M + face.height_m * 0.05
        placements = (
            (bodies.body, (x, y, BODY_HEIGHT_M / 2)),
            (bodies.head, (x + 0.12 * cos_yaw, y + 0.12 * sin_yaw, head_height)),
            (
                bodies.panel,
                (x + PANEL_OFFSET_M * cos_yaw, y + PANEL_OFFSET_M * sin_yaw, FACE_CENTRE_HEIGHT_M),
            ),
        )
        for body, position in placements:
            p.resetBasePositionAndOrientation(body, position, orientation, physicsClientId=client)

    def _remove(self, visitor_id: str) -> None:
        bodies = self._bodies.pop(visitor_id)
        for body in (bodies.body, bodies.head, bodies.panel):
            self._p.removeBody(body, physicsClientId=self._client)


@contextlib.contextmanager
def _quiet_native_output() -> Iterator[None]:
    """Silence C-level stdout while PyBullet parses the SDF (its importer warns on fd 1)."""
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
