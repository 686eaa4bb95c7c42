"""The lobby simulator's world: the SDF lobby rendered headless by PyBullet, with
visitors whose faces are real photographs. No rclpy here; nodes/sim_camera.py wires it.

    from service_desk_robot.sim.lobby import Lobby, FACES
"""

from service_desk_robot.sim.lobby.crowd import Crowd, Phase, Visitor
from service_desk_robot.sim.lobby.errors import CommandError, LobbyError, UnknownFaceError, WorldError
from service_desk_robot.sim.lobby.faces import FACES, Portrait, portrait
from service_desk_robot.sim.lobby.scene import Frame, Lobby
from service_desk_robot.sim.lobby.world import DEFAULT_WORLD, CameraModel, WorldInfo, read_world

__all__ = [
    "DEFAULT_WORLD",
    "FACES",
    "CameraModel",
    "CommandError",
    "Crowd",
    "Frame",
    "Lobby",
    "LobbyError",
    "Phase",
    "Portrait",
    "UnknownFaceError",
    "Visitor",
    "WorldError",
    "WorldInfo",
    "portrait",
    "read_world",
]
