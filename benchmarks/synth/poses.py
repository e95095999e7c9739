"""Phone-like card poses: exact tilt, mostly upright, framed like the capture guide asks."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.geometry import (
    Camera,
    Pose,
    centred_rect,
    front_faces_camera,
    project,
    rect_corners_mm,
    to_camera,
)


def split_tilt(tilt: float, azimuth_rad: float) -> tuple[float, float]:
    """Pitch and yaw (deg) whose combined tilt ``acos(cos p cos y)`` is exactly ``tilt``."""
    if tilt <= 0:
        return 0.0, 0.0
    target = math.cos(math.radians(tilt))
    lo, hi = 0.0, 2.0
    for _ in range(50):
        s = (lo + hi) / 2
        p, y = s * tilt * math.cos(azimuth_rad), s * tilt * math.sin(azimuth_rad)
        c = math.cos(math.radians(p)) * math.cos(math.radians(y))
        lo, hi = (s, hi) if c > target else (lo, s)
    s = (lo + hi) / 2
    return s * tilt * math.cos(azimuth_rad), s * tilt * math.sin(azimuth_rad)


def visible_fraction(corners: npt.NDArray[np.float32], camera: Camera) -> float:
    """Share of the document quad's area that lies inside the frame."""
    frame = np.array(
        [[0, 0], [camera.width, 0], [camera.width, camera.height], [0, camera.height]], np.float32
    )
    total = abs(cv2.contourArea(corners))
    inter, _ = cv2.intersectConvexConvex(corners.astype(np.float32), frame)
    return float(inter / total) if total > 0 else 0.0


def sample_pose(
    rng: np.random.Generator,
    camera: Camera,
    size_mm: tuple[float, float],
    tilt_range: tuple[float, float],
    out_of_frame: bool = False,
) -> Pose:
    """A phone-like pose: tilt in range, mostly upright, card filling 45-85 % of the frame."""
    f = camera.focal_px
    pose = Pose(0.0, 0.0, 0.0, 300.0)
    for _ in range(200):
        pitch, yaw = split_tilt(rng.uniform(*tilt_range), rng.uniform(0, 2 * math.pi))
        quarter = int(rng.choice([0, 1, 2, 3], p=[0.88, 0.04, 0.04, 0.04]))
        roll = quarter * 90.0 + rng.normal(0, 5)
        limit = camera.width if quarter % 2 == 0 else camera.height
        distance = f * size_mm[0] / (rng.uniform(0.45, 0.85) * limit)
        spread = 0.45 if out_of_frame else 0.12
        u, v = (0.5 + rng.uniform(-spread, spread, 2)) * [camera.width, camera.height]
        pose = Pose(
            pitch,
            yaw,
            roll,
            distance,
            (u - camera.width / 2) * distance / f,
            (v - camera.height / 2) * distance / f,
        )
        corners = project(to_camera(rect_corners_mm(centred_rect(size_mm)), pose), camera)
        frac = visible_fraction(corners.astype(np.float32), camera)
        if not front_faces_camera(pose):
            continue
        if (0.55 <= frac <= 0.95) if out_of_frame else _inside(corners, camera, 0.03):
            return pose
    return pose


def _inside(points: npt.NDArray[np.float64], camera: Camera, margin: float) -> bool:
    mx, my = camera.width * margin, camera.height * margin
    return bool(
        np.all(
            (points[:, 0] > mx)
            & (points[:, 0] < camera.width - mx)
            & (points[:, 1] > my)
            & (points[:, 1] < camera.height - my)
        )
    )
