"""Exceptions of the lobby simulator.

LobbyError              anything the lobby refuses
├── WorldError          the SDF world cannot be read (missing file, no camera, bad numbers)
├── UnknownFaceError    a face name that no shipped photograph has
└── CommandError        a world command that is malformed or names an unknown visitor
"""

from __future__ import annotations


class LobbyError(Exception):
    """Base of every lobby simulator error."""


class WorldError(LobbyError):
    """The SDF world file is missing, malformed or lacks what the renderer needs."""


class UnknownFaceError(LobbyError):
    """No shipped photograph has this face name."""


class CommandError(LobbyError):
    """A world command is malformed (bad JSON, missing field, bad path) or cannot apply."""
