"""The vision subsystem's exceptions, one tree under `VisionError`.

VisionError
├── FrameError      a frame that cannot be processed (empty, wrong type or encoding,
│                   too small, too large, older than the last one); the frame is skipped
├── DetectorError   a detector backend that is unknown, misconfigured or failed
└── SourceError     a camera source that cannot be opened or read (missing device,
    │               unreadable video file, folder without images)
    └── SourceFinishedError  a video file or image folder played to its end without `loop`
"""

from __future__ import annotations


class VisionError(Exception):
    """Base of every error the vision subsystem raises."""


class FrameError(VisionError):
    """A frame that cannot be processed; the caller skips it and keeps going."""


class DetectorError(VisionError):
    """A face detector backend that is unknown, misconfigured or failed."""


class SourceError(VisionError):
    """A camera source that cannot be opened or read."""


class SourceFinishedError(SourceError):
    """A video file or image folder that has played to its end and does not loop."""
