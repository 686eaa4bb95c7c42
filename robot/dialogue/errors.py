"""Errors of the dialogue core.

DialogueError
└── DialogueConfigError   a phrase, intent or procedure file is missing, malformed or incomplete
"""

from __future__ import annotations


class DialogueError(Exception):
    """Base of every error the dialogue core raises."""


class DialogueConfigError(DialogueError):
    """The dialogue's configuration (phrases, intents, procedures, services) is unusable."""
