"""Visitor perception: frames in, tracked faces and visitor events out.

`VisitorPerception` chains frame validation, a detector backend, the tracker and the
engagement of each track, and turns their changes into events: ARRIVED when a face is
confirmed, ENGAGED once per visit when it has addressed the robot long enough (never
before its ARRIVED), LEFT when a confirmed face is dropped. Frames carry their own
stamps (seconds); the clock that times processing is injected, so tests replay
sequences without sleeping. Only boxes and numbers leave this module: crops are cut on
request (`crop`) and never kept.

Threading: `process` from one thread only; `set_intrinsics` may be called from another
(it swaps one immutable reference).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from service_desk_robot.robot.vision.detectors import FaceDetector
from service_desk_robot.robot.vision.engagement import Engagement, EngagementConfig, EngagementState
from service_desk_robot.robot.vision.errors import FrameError
from service_desk_robot.robot.vision.frames import DEFAULT_MAX_SIDE_PX, prepare_frame
from service_desk_robot.robot.vision.geometry import CameraIntrinsics
from service_desk_robot.robot.vision.tracker import FaceTracker, Track, TrackerConfig

log = logging.getLogger(__name__)

# A frame this much older than the last one means the source's clock restarted, s.
CLOCK_RESET_S = 1.0


class EventKind(IntEnum):
    """Values of service_desk_interfaces/VisitorEvent."""

    ARRIVED = 1
    ENGAGED = 2
    LEFT = 3


@dataclass(frozen=True)
class VisitorEvent:
    kind: EventKind
    visitor_id: str
    distance_m: float
    stamp_s: float


@dataclass(frozen=True)
class FaceState:
    id: str
    x: int
    y: int
    width: int
    height: int
    confidence: float
    distance_m: float
    bearing_rad: float
    facing: bool
    engagement: Engagement
    frames_seen: int  # consecutive frames matched; 0 while the face is missed


@dataclass(frozen=True)
class FrameResult:
    stamp_s: float
    faces: list[FaceState]  # confirmed faces only
    events: list[VisitorEvent]
    detections: int  # raw detections in the frame, confirmed or not
    processing_s: float


@dataclass(frozen=True)
class PerceptionConfig:
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    engagement: EngagementConfig = field(default_factory=EngagementConfig)
    # Used until camera intrinsics are set (no camera_info yet).
    horizontal_fov_deg: float = 60.0
    # Real width of the detector's box on a face; None takes the backend's own figure.
    face_width_m: float | None = None
    max_side_px: int = DEFAULT_MAX_SIDE_PX


class VisitorPerception:
    def __init__(
        self,
        detector: FaceDetector,
        config: PerceptionConfig | None = None,
        new_id: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.detector = detector
        self.config = config or PerceptionConfig()
        self._tracker = FaceTracker(self.config.tracker, new_id)
        self._clock = clock
        self._intrinsics: CameraIntrinsics | None = None
        self._engagement: dict[str, EngagementState] = {}
        self._last_stamp_s = -math.inf
        self._face_width_m = self.config.face_width_m or detector.face_width_m

    def set_intrinsics(self, intrinsics: CameraIntrinsics) -> None:
        self._intrinsics = intrinsics

    def intrinsics_for(self, width: int, height: int) -> CameraIntrinsics:
        known = self._intrinsics
        if known is None:
            return CameraIntrinsics.from_fov(width, height, self.config.horizontal_fov_deg)
        return known.scaled_to(width, height)

    def process(self, image: object, stamp_s: float) -> FrameResult:
        """Detect, track and judge engagement in one frame; FrameError for a bad frame.

        A bad frame changes nothing (no track ages on it). A frame slightly older than the
        last one is stale (FrameError); one more than CLOCK_RESET_S older means the source's
        clock started again (a restarted simulator, a replay): every visitor is let go
        (LEFT) and tracking starts afresh.
        """
        started = self._clock()
        frame = prepare_frame(image, self.config.max_side_px)
        events: list[VisitorEvent] = []
        if stamp_s < self._last_stamp_s - CLOCK_RESET_S:
            events += self._let_everyone_go(stamp_s)
        elif stamp_s < self._last_stamp_s:
            raise FrameError(
                f"frame stamped {stamp_s:.3f} s is older than the last one ({self._last_stamp_s:.3f} s)"
            )
        detections = self.detector.detect(frame)
        self._last_stamp_s = stamp_s
        intrinsics = self.intrinsics_for(frame.shape[1], frame.shape[0])
        update = self._tracker.update(detections, stamp_s)

        def event(kind: EventKind, track: Track) -> VisitorEvent:
            return VisitorEvent(kind, track.id, self._distance(track, intrinsics), stamp_s)

        for track in update.dropped:
            self._engagement.pop(track.id, None)
            events.append(event(EventKind.LEFT, track))
        live = {track.id for track in update.tracks}
        for track_id in [key for key in self._engagement if key not in live]:
            del self._engagement[track_id]  # unconfirmed tracks dropped silently
        for track in update.confirmed:
            events.append(event(EventKind.ARRIVED, track))

        faces: list[FaceState] = []
        for track in update.tracks:
            state = self._engagement.setdefault(track.id, EngagementState(self.config.engagement))
            distance = self._distance(track, intrinsics)
            if track.visible:
                state.observe(stamp_s, distance, track.detection.facing, track.speed_widths_s)
            if not track.confirmed:
                continue
            if state.due:
                state.announced = True
                events.append(event(EventKind.ENGAGED, track))
            faces.append(self._face(track, state.level, distance, intrinsics))
        return FrameResult(stamp_s, faces, events, len(detections), self._clock() - started)

    def _let_everyone_go(self, stamp_s: float) -> list[VisitorEvent]:
        log.warning(
            f"frame clock went back from {self._last_stamp_s:.3f} s to {stamp_s:.3f} s: tracking restarts"
        )
        self._engagement.clear()
        return [
            VisitorEvent(EventKind.LEFT, track.id, math.nan, stamp_s)
            for track in self._tracker.clear()
            if track.confirmed
        ]

    def _distance(self, track: Track, intrinsics: CameraIntrinsics) -> float:
        return intrinsics.distance_m(track.detection.width, self._face_width_m)

    @staticmethod
    def _face(track: Track, level: Engagement, distance: float, intrinsics: CameraIntrinsics) -> FaceState:
        d = track.detection
        return FaceState(
            id=track.id,
            x=d.x,
            y=d.y,
            width=d.width,
            height=d.height,
            confidence=d.confidence,
            distance_m=distance,
            bearing_rad=intrinsics.bearing_rad(d.center[0]),
            facing=d.facing,
            engagement=level,
            frames_seen=track.hits,
        )


def crop(image: np.ndarray, face: FaceState, margin: float = 0.2) -> np.ndarray:
    """A copy of the face's box grown by `margin` of its size, clipped to the image."""
    height, width = image.shape[:2]
    grow_x, grow_y = round(face.width * margin), round(face.height * margin)
    left, top = max(0, face.x - grow_x), max(0, face.y - grow_y)
    right = min(width, face.x + face.width + grow_x)
    bottom = min(height, face.y + face.height + grow_y)
    return image[top:bottom, left:right].copy()
