"""Face detector backends, chosen by name: YuNet (PyPI `yuface`) and OpenCV Haar.

Every backend takes a BGR frame (see frames.py) and returns `Detection`s in the frame's
pixel coordinates. Frames wider than `max_input_width_px` are shrunk before detection
(detection time grows with the pixel count; faces close enough to matter stay large)
and the boxes scaled back. Whether a face is frontal ("facing") comes from YuNet's five
landmarks; the Haar frontal cascade only finds frontal faces, so its detections are
facing by construction. No backend recognises identities.

A detector instance is not thread-safe: use one per processing thread.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from service_desk_robot.robot.vision.errors import DetectorError


@dataclass(frozen=True)
class Detection:
    x: int
    y: int
    width: int
    height: int
    confidence: float  # 0..1
    facing: bool  # frontal enough to be addressing the camera
    yaw_ratio: float = 0.0  # nose offset from the eyes' midpoint, in eye distances; 0 frontal
    roll_deg: float = 0.0  # angle of the eye line; 0 upright

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.width / 2.0, self.y + self.height / 2.0)


@dataclass(frozen=True)
class DetectorConfig:
    min_confidence: float = 0.6
    max_input_width_px: int = 640
    min_face_px: int = 20  # smaller boxes are too far away to matter, and often false
    max_yaw_ratio: float = 0.3  # |yaw_ratio| above this is a turned head
    max_roll_deg: float = 30.0  # a head tilted more than this is not addressing the robot
    # Threads the backend may use per frame (YuNet's OpenMP); 1 keeps a core free for speech
    # and avoids OpenMP's spin-waiting on a busy machine, which costs more than it gains.
    threads: int = 1


class FaceDetector(Protocol):
    name: str
    # Real width in metres that the backend's box spans on an average adult face: the
    # distance estimate divides by it (Haar boxes include more of the forehead and cheeks).
    face_width_m: float

    def detect(self, frame: np.ndarray) -> list[Detection]: ...


def _shrink(frame: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    """Return the frame to detect on and the factor from its pixels to the original's."""
    width = frame.shape[1]
    if width <= max_width:
        return frame, 1.0
    factor = width / max_width
    size = (max_width, max(1, round(frame.shape[0] / factor)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), factor


def _box(x: float, y: float, w: float, h: float, factor: float, frame: np.ndarray) -> tuple[int, ...]:
    """Scale a box back to the original frame and clip it to the frame."""
    height, width = frame.shape[:2]
    left, top = max(0.0, x * factor), max(0.0, y * factor)
    right, bottom = min(float(width), (x + w) * factor), min(float(height), (y + h) * factor)
    return round(left), round(top), max(0, round(right - left)), max(0, round(bottom - top))


def head_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """(yaw_ratio, roll_deg) from five landmarks: eye, eye, nose, mouth corner, mouth corner.

    yaw_ratio is the nose's offset along the eye line from the eyes' midpoint, in eye
    distances: about 0 for a frontal face, beyond 0.5 for a three-quarter view.
    """
    points = landmarks.reshape(5, 2).astype(np.float64)
    eye_a, eye_b, nose = points[0], points[1], points[2]
    eye_vector = eye_b - eye_a
    eye_distance = float(np.hypot(*eye_vector))
    if eye_distance < 1e-6:
        return math.inf, 0.0
    unit = eye_vector / eye_distance
    yaw_ratio = float(np.dot(nose - (eye_a + eye_b) / 2.0, unit)) / eye_distance
    roll_deg = math.degrees(math.atan2(eye_vector[1], eye_vector[0]))
    return yaw_ratio, roll_deg


def _openmp_of(module_file: str) -> ctypes.CDLL | None:
    """The OpenMP runtime a wheel vendors next to its package (auditwheel's `<name>.libs`)."""
    package_dir = Path(module_file).resolve().parent
    for candidate in sorted((package_dir.parent / f"{package_dir.name}.libs").glob("libgomp*.so*")):
        try:
            return ctypes.CDLL(str(candidate))  # already loaded by the wheel: the same handle
        except OSError:
            continue
    return None


class YuNetDetector:
    """YuNet (libfacedetection) through `yuface`, weights compiled into the wheel."""

    name = "yunet"
    face_width_m = 0.15

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        try:
            import yuface
            from yuface.yuface import detect as yunet_detect
        except ImportError as error:
            raise DetectorError(f"YuNet backend needs the 'yuface' package: {error}") from error
        self._detect = yunet_detect
        self._openmp = _openmp_of(yuface.__file__) if self.config.threads > 0 else None

    def detect(self, frame: np.ndarray) -> list[Detection]:
        small, factor = _shrink(frame, self.config.max_input_width_px)
        if self._openmp is not None:
            # OpenMP's thread count is per calling thread: set it on the thread detecting.
            self._openmp.omp_set_num_threads(self.config.threads)
        try:
            # Rows: score (0-100), x, y, w, h, five (x, y) landmarks, padding; int16.
            rows = self._detect(np.ascontiguousarray(small))
        except Exception as error:  # a C extension's failure of any kind, mapped to ours
            raise DetectorError(f"YuNet failed on a {small.shape} frame: {error!r}") from error
        detections = []
        for row in np.asarray(rows, dtype=np.float64).reshape(-1, 16):
            confidence = row[0] / 100.0
            if confidence < self.config.min_confidence:
                continue
            x, y, w, h = _box(*row[1:5], factor, frame)
            if min(w, h) < self.config.min_face_px:
                continue
            yaw, roll = head_pose(row[5:15])
            facing = abs(yaw) <= self.config.max_yaw_ratio and abs(roll) <= self.config.max_roll_deg
            detections.append(Detection(x, y, w, h, float(confidence), facing, yaw, roll))
        return detections


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (shipped in opencv-python 4.x as cv2.data)."""

    name = "haar"
    face_width_m = 0.17
    CASCADE = "haarcascade_frontalface_default.xml"
    # detectMultiScale's neighbour count standing in for a confidence: this many or more
    # overlapping hits count as certain.
    CERTAIN_NEIGHBOURS = 30

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        data = getattr(cv2, "data", None)
        if data is None or not hasattr(cv2, "CascadeClassifier"):
            raise DetectorError("Haar backend needs opencv-python below 5 (cv2.data, CascadeClassifier)")
        path = data.haarcascades + self.CASCADE
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise DetectorError(f"cannot load the Haar cascade {path}")

    def detect(self, frame: np.ndarray) -> list[Detection]:
        small, factor = _shrink(frame, self.config.max_input_width_px)
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(1, round(self.config.min_face_px / factor))
        try:
            boxes, _, weights = self._cascade.detectMultiScale3(
                grey, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side), outputRejectLevels=True
            )
        except cv2.error as error:
            raise DetectorError(f"Haar cascade failed on a {small.shape} frame: {error}") from error
        detections = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            confidence = min(1.0, max(0.0, float(weight)) / 5.0)
            if confidence < self.config.min_confidence:
                continue
            detections.append(Detection(*_box(x, y, w, h, factor, frame), confidence, facing=True))
        return detections


BACKENDS: dict[str, Callable[[DetectorConfig], FaceDetector]] = {
    YuNetDetector.name: YuNetDetector,
    HaarDetector.name: HaarDetector,
}


def create_detector(name: str, config: DetectorConfig | None = None) -> FaceDetector:
    """The backend called `name` ("yunet" or "haar"); DetectorError when unknown or broken."""
    factory = BACKENDS.get(name.strip().lower())
    if factory is None:
        raise DetectorError(f"unknown face detector backend '{name}'; choose one of {sorted(BACKENDS)}")
    return factory(config or DetectorConfig())
