"""Where a face is: distance from its size and the camera intrinsics, bearing from its position.

Pinhole model: a face `face_width_m` wide that spans `w` pixels is `fx * face_width_m / w`
metres away. Intrinsics come from camera_info (K) or, without calibration, from the
horizontal field of view. Immutable values, thread-safe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from service_desk_robot.robot.vision.errors import VisionError


@dataclass(frozen=True)
class CameraIntrinsics:
    width: int  # image size the focal lengths refer to, px
    height: int
    fx: float  # focal lengths, px
    fy: float
    cx: float  # principal point, px
    cy: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.fx <= 0 or self.fy <= 0:
            raise VisionError(f"invalid camera intrinsics {self}")

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> CameraIntrinsics:
        """Square pixels, centred principal point: what an uncalibrated webcam is close to."""
        if not 1.0 <= horizontal_fov_deg <= 179.0:
            raise VisionError(f"horizontal field of view {horizontal_fov_deg} deg is not in 1..179")
        fx = (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        return cls(width, height, fx, fx, width / 2.0, height / 2.0)

    def scaled_to(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera at another resolution (a frame resized after calibration)."""
        if (width, height) == (self.width, self.height):
            return self
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(width, height, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)

    def distance_m(self, face_width_px: float, face_width_m: float) -> float:
        """Distance of a face `face_width_px` wide; NaN for an empty box."""
        if face_width_px <= 0:
            return math.nan
        return self.fx * face_width_m / face_width_px

    def bearing_rad(self, u_px: float) -> float:
        """Horizontal angle of image column `u_px` from the optical axis, positive to the left."""
        return math.atan2(self.cx - u_px, self.fx)
