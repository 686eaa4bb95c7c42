"""What the renderer reads from the SDF world besides its geometry: the robot camera's
pose and lens, the sun, the ambient light and the floor's extent.

PyBullet's SDF importer loads links and visuals but ignores sensors and lights, so
this module reads them with ElementTree (poses composed model -> link -> sensor, SDF's
fixed-axis roll-pitch-yaw). `CameraModel` is the pinhole model of the rendered image:
intrinsics for camera_info, `project()` for tests, and the view/up vectors PyBullet needs.
Pure functions and frozen data; thread-safe.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from service_desk_robot.sim.lobby.errors import WorldError

DEFAULT_WORLD = Path(__file__).resolve().parent.parent / "worlds" / "lobby.sdf"
MAX_SDF_VERSION = (1, 9)  # Gazebo Fortress / Debian's sdformat 12


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera: pose in the lobby frame (x forward, z up) and intrinsics in pixels."""

    position: tuple[float, float, float]
    forward: tuple[float, float, float]  # unit optical axis
    up: tuple[float, float, float]  # unit image "up" direction
    width: int
    height: int
    horizontal_fov_rad: float
    near_m: float
    far_m: float

    @property
    def fx(self) -> float:
        return (self.width / 2.0) / math.tan(self.horizontal_fov_rad / 2.0)

    @property
    def fy(self) -> float:
        return self.fx  # square pixels

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    @property
    def vertical_fov_rad(self) -> float:
        return 2.0 * math.atan((self.height / 2.0) / self.fy)

    def with_size(self, width: int, height: int) -> CameraModel:
        """The same lens (horizontal field of view) at another image size."""
        return CameraModel(
            self.position,
            self.forward,
            self.up,
            width,
            height,
            self.horizontal_fov_rad,
            self.near_m,
            self.far_m,
        )

    def project(self, point: tuple[float, float, float]) -> tuple[float, float] | None:
        """Pixel (u, v) of a lobby-frame point, or None when it is behind the camera."""
        forward, up = np.array(self.forward), np.array(self.up)
        right = np.cross(forward, up)
        offset = np.array(point, dtype=float) - np.array(self.position)
        depth = float(offset @ forward)
        if depth <= 1e-6:
            return None
        return (
            self.cx + self.fx * float(offset @ right) / depth,
            self.cy - self.fy * float(offset @ up) / depth,
        )


@dataclass(frozen=True)
class WorldInfo:
    path: Path
    camera: CameraModel
    sun_direction: tuple[float, float, float]  # direction the light travels (SDF <direction>)
    sun_color: tuple[float, float, float]
    ambient: float  # 0..1, the scene's ambient light
    floor_bounds: tuple[float, float, float, float] | None  # x_min, x_max, y_min, y_max


def pose_matrix(text: str | None) -> np.ndarray:
    """4x4 transform of an SDF <pose> "x y z roll pitch yaw" (R = Rz(yaw) Ry(pitch) Rx(roll))."""
    values = [float(v) for v in (text or "").split()] or [0.0] * 6
    if len(values) != 6:
        raise ValueError(f"a pose has 6 numbers, got {len(values)}: {text!r}")
    x, y, z, roll, pitch, yaw = values
    cr, sr, cp, sp, cy, sy = (
        math.cos(roll),
        math.sin(roll),
        math.cos(pitch),
        math.sin(pitch),
        math.cos(yaw),
        math.sin(yaw),
    )
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    matrix[:3, 3] = [x, y, z]
    return matrix


def sdf_version(path: Path) -> tuple[int, ...]:
    root = _parse(path)
    try:
        return tuple(int(part) for part in root.get("version", "").split("."))
    except ValueError as error:
        raise WorldError(f"{path}: bad <sdf version={root.get('version')!r}>") from error


def read_world(path: Path = DEFAULT_WORLD) -> WorldInfo:
    """Read the camera, lights and floor of `path`; WorldError if anything needed is missing."""
    root = _parse(path)
    version = sdf_version(path)
    if version > MAX_SDF_VERSION:
        raise WorldError(f"{path}: SDF {'.'.join(map(str, version))} is newer than 1.9")
    world = root.find("world")
    if world is None:
        raise WorldError(f"{path}: no <world>")
    try:
        camera = _camera(path, world)
        sun = world.find("light[@type='directional']")
        direction = _floats(sun.findtext("direction"), 3) if sun is not None else (0.0, 0.0, -1.0)
        color = _floats(sun.findtext("diffuse"), 4)[:3] if sun is not None else (1.0, 1.0, 1.0)
        ambient_rgba = _floats(world.findtext("scene/ambient") or "0.6 0.6 0.6 1", 4)
    except ValueError as error:
        raise WorldError(f"{path}: {error}") from error
    return WorldInfo(
        path=path,
        camera=camera,
        sun_direction=direction,
        sun_color=color,
        ambient=sum(ambient_rgba[:3]) / 3.0,
        floor_bounds=_floor_bounds(world),
    )


def _parse(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except OSError as error:
        raise WorldError(f"cannot read world {path}: {error.strerror}") from error
    except ET.ParseError as error:
        raise WorldError(f"{path}: malformed XML: {error}") from error
    if root.tag != "sdf":
        raise WorldError(f"{path}: the root element is <{root.tag}>, not <sdf>")
    return root


def _floats(text: str | None, count: int) -> tuple[float, ...]:
    values = tuple(float(v) for v in (text or "").split())
    if len(values) != count:
        raise ValueError(f"expected {count} numbers, got {text!r}")
    return values


def _camera(path: Path, world: ET.Element) -> CameraModel:
    for model in world.findall("model"):
        for link in model.findall("link"):
            for sensor in link.findall("sensor[@type='camera']"):
                transform = pose_matrix(model.findtext("pose")) @ pose_matrix(link.findtext("pose"))
                transform = transform @ pose_matrix(sensor.findtext("pose"))
                lens = sensor.find("camera")
                if lens is None:
                    raise WorldError(f"{path}: camera sensor '{sensor.get('name')}' has no <camera>")
                rotation = transform[:3, :3]
                return CameraModel(
                    position=tuple(float(v) for v in transform[:3, 3]),
                    forward=tuple(float(v) for v in rotation[:, 0]),
                    up=tuple(float(v) for v in rotation[:, 2]),
                    width=int(lens.findtext("image/width") or 640),
                    height=int(lens.findtext("image/height") or 480),
                    horizontal_fov_rad=float(lens.findtext("horizontal_fov") or 1.047),
                    near_m=float(lens.findtext("clip/near") or 0.1),
                    far_m=float(lens.findtext("clip/far") or 30.0),
                )
    raise WorldError(f"{path}: no <sensor type='camera'> in any model")


def _floor_bounds(world: ET.Element) -> tuple[float, float, float, float] | None:
    """Extent of the visual named "floor" (a box; model and link poses are translations here)."""
    for model in world.findall("model"):
        for link in model.findall("link"):
            for visual in link.findall("visual[@name='floor']"):
                size = visual.findtext("geometry/box/size")
                if size is None:
                    return None
                transform = pose_matrix(model.findtext("pose")) @ pose_matrix(link.findtext("pose"))
                centre = (transform @ pose_matrix(visual.findtext("pose")))[:3, 3]
                sx, sy, _ = _floats(size, 3)
                return (centre[0] - sx / 2, centre[0] + sx / 2, centre[1] - sy / 2, centre[1] + sy / 2)
    return None
