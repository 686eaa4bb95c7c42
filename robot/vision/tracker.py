"""Face tracking in the spirit of ROS4HRI: short transient ids, confirmation and loss.

Each frame's detections are matched to the live tracks greedily, nearest first, by the
distance between a track's predicted centre (constant velocity) and a detection's
centre, in face widths, gated by a similar size. A new track is confirmed after
`confirm_frames` consecutive matched frames (one miss before that drops it silently);
a confirmed track is dropped after `drop_after_misses` consecutive missed frames. Ids
come from an injected factory (sequential "f1", "f2"... for tests, random short ones
for deployments) and are never identities: the same person walking in again gets a new id.

Single-threaded: call `update` from one thread.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from service_desk_robot.robot.vision.detectors import Detection
from service_desk_robot.robot.vision.errors import VisionError


@dataclass(frozen=True)
class TrackerConfig:
    confirm_frames: int = 3  # N: consecutive matched frames before a face is confirmed
    drop_after_misses: int = 8  # M: consecutive missed frames before a confirmed face is dropped
    max_jump_widths: float = 1.0  # farthest a centre may move from its prediction, in face widths
    max_size_ratio: float = 1.6  # largest growth or shrink of the box between two matches

    def __post_init__(self) -> None:
        if self.confirm_frames < 1 or self.drop_after_misses < 1:
            raise VisionError(f"confirm_frames and drop_after_misses must be >= 1: {self}")
        if self.max_jump_widths <= 0 or self.max_size_ratio < 1:
            raise VisionError(f"max_jump_widths must be > 0 and max_size_ratio >= 1: {self}")


def sequential_ids(prefix: str = "f") -> Callable[[], str]:
    """Deterministic ids f1, f2, ... (tests, replays)."""
    counter: Iterator[int] = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


def random_ids(rng: random.Random | None = None, length: int = 4, prefix: str = "f") -> Callable[[], str]:
    """Short random ids like "fqzkd": unlikely to repeat across restarts of the node."""
    source = rng or random.Random()
    return lambda: prefix + "".join(source.choices(string.ascii_lowercase, k=length))


@dataclass
class Track:
    id: str
    detection: Detection  # the latest matched detection
    stamp_s: float  # when it was last matched
    hits: int = 1  # consecutive matched frames
    misses: int = 0  # consecutive missed frames
    confirmed: bool = False
    velocity_px_s: tuple[float, float] = (0.0, 0.0)
    # Speed of the centre at the last match, in face widths per second (how still the person is).
    speed_widths_s: float = 0.0

    @property
    def visible(self) -> bool:
        return self.misses == 0

    def predicted_center(self, stamp_s: float) -> tuple[float, float]:
        cx, cy = self.detection.center
        dt = max(0.0, stamp_s - self.stamp_s)
        return cx + self.velocity_px_s[0] * dt, cy + self.velocity_px_s[1] * dt


@dataclass(frozen=True)
class TrackUpdate:
    """What one frame changed: tracks confirmed and confirmed tracks dropped in it."""

    tracks: list[Track]  # every live track (confirmed or not) after this frame
    confirmed: list[Track]
    dropped: list[Track]


class FaceTracker:
    def __init__(self, config: TrackerConfig | None = None, new_id: Callable[[], str] | None = None) -> None:
        self.config = config or TrackerConfig()
        self._new_id = new_id or sequential_ids()
        self._tracks: list[Track] = []

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks)

    def clear(self) -> list[Track]:
        """Forget every track (a restarted clock); returns what was live."""
        tracks, self._tracks = self._tracks, []
        return tracks

    def _new_track_id(self, live: set[str]) -> str:
        # A random factory could repeat a live id; ids must be unique among live tracks.
        for _ in range(100):
            candidate = self._new_id()
            if candidate not in live:
                return candidate
        raise VisionError("the track id factory keeps returning ids already in use")

    def _cost(self, track: Track, detection: Detection, stamp_s: float) -> float | None:
        """Normalised centre distance, or None when the pair cannot be the same face."""
        previous = track.detection
        ratio = max(detection.width, previous.width) / max(1, min(detection.width, previous.width))
        if ratio > self.config.max_size_ratio:
            return None
        px, py = track.predicted_center(stamp_s)
        dx, dy = detection.center[0] - px, detection.center[1] - py
        scale = (detection.width + previous.width) / 2.0
        cost = (dx * dx + dy * dy) ** 0.5 / max(1.0, scale)
        return cost if cost <= self.config.max_jump_widths else None

    def update(self, detections: list[Detection], stamp_s: float) -> TrackUpdate:
        pairs = []
        for t_index, track in enumerate(self._tracks):
            for d_index, detection in enumerate(detections):
                cost = self._cost(track, detection, stamp_s)
                if cost is not None:
                    pairs.append((cost, t_index, d_index))
        pairs.sort()
        matched_tracks: set[int] = set()
        matched_detections: set[int] = set()
        confirmed: list[Track] = []
        for _, t_index, d_index in pairs:
            if t_index in matched_tracks or d_index in matched_detections:
                continue
            matched_tracks.add(t_index)
            matched_detections.add(d_index)
            track = self._tracks[t_index]
            self._match(track, detections[d_index], stamp_s)
            if not track.confirmed and track.hits >= self.config.confirm_frames:
                track.confirmed = True
                confirmed.append(track)

        survivors: list[Track] = []
        dropped: list[Track] = []
        for t_index, track in enumerate(self._tracks):
            if t_index not in matched_tracks:
                track.misses += 1
                track.hits = 0
                limit = self.config.drop_after_misses if track.confirmed else 1
                if track.misses >= limit:
                    if track.confirmed:
                        dropped.append(track)
                    continue
            survivors.append(track)
        live = {track.id for track in self._tracks}
        for d_index, detection in enumerate(detections):
            if d_index not in matched_detections:
                track = Track(id=self._new_track_id(live), detection=detection, stamp_s=stamp_s)
                live.add(track.id)
                survivors.append(track)
                if self.config.confirm_frames <= 1:
                    track.confirmed = True
                    confirmed.append(track)
        self._tracks = survivors
        return TrackUpdate(list(survivors), confirmed, dropped)

    @staticmethod
    def _match(track: Track, detection: Detection, stamp_s: float) -> None:
        dt = stamp_s - track.stamp_s
        (ox, oy), (nx, ny) = track.detection.center, detection.center
        if dt > 0:
            velocity = ((nx - ox) / dt, (ny - oy) / dt)
            track.velocity_px_s = velocity
            track.speed_widths_s = (velocity[0] ** 2 + velocity[1] ** 2) ** 0.5 / max(1, detection.width)
        track.detection = detection
        track.stamp_s = stamp_s
        track.hits += 1
        track.misses = 0
