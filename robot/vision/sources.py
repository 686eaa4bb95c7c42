"""Camera sources: a V4L2 device, a video file or a folder of images, behind one interface.

`open_source(spec)` picks the kind from the spec: a device index ("0") or a /dev path is a
device (cv2.VideoCapture, V4L2 backend), a directory is a folder of images (sorted by name,
looped), an image file is shown again and again, any other file is a video (looped when
`loop`). `read()` returns one BGR frame or
raises SourceError; a device that vanished raises too, and the caller reopens it later.
No source spins or sleeps: the caller paces reads.

A source is used from one thread at a time.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from service_desk_robot.robot.vision.errors import SourceError, SourceFinishedError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"})


class FrameSource(Protocol):
    description: str  # for logs and diagnostics, e.g. "device /dev/video0"

    def read(self) -> np.ndarray: ...

    def close(self) -> None: ...


class CaptureSource:
    """cv2.VideoCapture on a device or a video file."""

    def __init__(self, target: int | str, description: str, loop: bool, size: tuple[int, int] | None) -> None:
        self.description = description
        self._loop = loop
        device = isinstance(target, int) or str(target).startswith("/dev/")
        self._is_file = not device
        api = cv2.CAP_V4L2 if device else cv2.CAP_ANY
        self._capture = cv2.VideoCapture(target, api)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"cannot open {description}")
        if size is not None and api == cv2.CAP_V4L2:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])

    def read(self) -> np.ndarray:
        ok, frame = self._capture.read()
        if not ok and self._is_file:
            if not self._loop:
                raise SourceFinishedError(f"{self.description}: played to its end")
            # End of a video file: rewind once and read again.
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise SourceError(f"no frame from {self.description}")
        return frame

    def close(self) -> None:
        self._capture.release()


class ImageFilesSource:
    """Still images in order, looped; unreadable files are skipped with a warning."""

    def __init__(self, paths: list[Path], description: str, loop: bool = True) -> None:
        self.description = description
        self._paths = paths
        if not self._paths:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {description}")
        self._loop = loop
        self._index = 0

    def read(self) -> np.ndarray:
        for _ in range(len(self._paths)):
            if self._index >= len(self._paths):
                if not self._loop:
                    raise SourceFinishedError(f"{self.description}: all images shown")
                self._index = 0
            path = self._paths[self._index]
            self._index += 1
            frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if frame is not None:
                return frame
            log.warning(f"skipping unreadable image {path}")
        raise SourceError(f"{self.description}: no readable image")

    def close(self) -> None:
        self._paths = []


def open_source(spec: str, loop: bool = True, size: tuple[int, int] | None = None) -> FrameSource:
    """Open the source named by `spec`; SourceError (one clear sentence) when it cannot be."""
    spec = spec.strip()
    if not spec:
        raise SourceError("no camera source configured")
    if spec.isdigit():
        return CaptureSource(int(spec), f"camera device {spec}", loop=False, size=size)
    path = Path(spec).expanduser()
    if spec.startswith("/dev/"):
        if not path.exists():
            raise SourceError(f"camera device {spec} does not exist")
        return CaptureSource(str(path), f"camera device {spec}", loop=False, size=size)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        return ImageFilesSource(images, f"folder {path}", loop)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageFilesSource([path], f"image {path}", loop)
    if path.is_file():
        return CaptureSource(str(path), f"video file {path}", loop, size=None)
    raise SourceError(f"camera source {spec} is neither a device, a folder nor a file")
