"""The pose of a rectangle from its four image corners and a pinhole camera.

Convention (the one ``benchmarks.synth`` renders with): square pixels, no distortion, the
principal point at the image centre ``(W / 2, H / 2)`` in ``ekyc.types`` coordinates, and the
35 mm-equivalent focal length taken on the diagonal (CIPA DC-008 practice for non-3:2
sensors): ``f_px = f35 * hypot(W, H) / hypot(36, 24)``, ``hypot(36, 24) = 43.27`` mm.

With the focal length known, the homography from a unit square to the quad is
``H ~ K [a b t]``: ``a`` and ``b`` are the rectangle's sides in camera space, so their length
ratio is its true aspect and ``a x b`` its normal (Zhang & He, 2007), whatever the
perspective does to the image quad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["PlanePose", "aspect_ratios", "focal_px", "plane_pose", "shape_factors"]

DIAGONAL_35MM = math.hypot(36.0, 24.0)
_UNIT_SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class PlanePose:
    """What the camera model says about a quad taken to be a rectangle.

    Attributes:
        aspect: Length of side 0-1 over side 1-2 in space (> 1: the first side is long).
        normal: Unit normal of the rectangle in camera coordinates, pointing at the camera.
        tilt_deg: Angle between the normal and the optical axis.
        skew_deg: How far from 90 degrees the two sides are in space; large when the quad
            is not a rectangle seen by this camera (wrong focal length, or not a card).
    """

    aspect: float
    normal: npt.NDArray[np.float64]
    tilt_deg: float
    skew_deg: float


def focal_px(image_size: tuple[int, int], focal_35mm: float) -> float:
    """Focal length in pixels of an image of ``(width, height)``, by the diagonal rule."""
    return focal_35mm * math.hypot(*image_size) / DIAGONAL_35MM


def plane_pose(
    corners: npt.NDArray[np.float32], image_size: tuple[int, int], f_px: float
) -> PlanePose | None:
    """Aspect, normal and tilt of the rectangle whose image is ``corners`` (4x2, in order).

    Returns:
        The pose, or None when the quad is degenerate (collinear corners, a vanishing
        line through the quad).
    """
    quad = np.asarray(corners, dtype=np.float32)
    hom = cv2.getPerspectiveTransform(_UNIT_SQUARE, quad).astype(np.float64)
    w, h = image_size
    k_inv = np.array([[1 / f_px, 0, -w / 2 / f_px], [0, 1 / f_px, -h / 2 / f_px], [0, 0, 1]])
    m = k_inv @ hom
    if m[2, 2] < 0:  # the plane's origin must lie in front of the camera
        m = -m
    a, b = m[:, 0], m[:, 1]
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not (na > 1e-12 and nb > 1e-12) or not np.all(np.isfinite(m)):
        return None
    normal = np.cross(a, b)
    length = float(np.linalg.norm(normal))
    if length < 1e-12:
        return None
    normal /= length
    if normal[2] > 0:  # point it back at the camera
        normal = -normal
    cos_ab = float(a @ b) / (na * nb)
    return PlanePose(
        aspect=na / nb,
        normal=normal,
        tilt_deg=math.degrees(math.acos(min(1.0, abs(float(normal[2]))))),
        skew_deg=abs(90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_ab))))),
    )


def aspect_ratios(
    quads: npt.NDArray[np.float64], image_size: tuple[int, int], f_px: float
) -> npt.NDArray[np.float64]:
    """``plane_pose(...).aspect`` for many ``(n, 4, 2)`` quads at once (NaN if degenerate).

    Uses the closed-form square-to-quad homography (Heckbert, 1989), so thousands of quad
    hypotheses cost a few vectorised operations.
    """
    x, y = quads[..., 0], quads[..., 1]
    dx1, dx2, dx3 = x[:, 1] - x[:, 2], x[:, 3] - x[:, 2], x[:, 0] - x[:, 1] + x[:, 2] - x[:, 3]
    dy1, dy2, dy3 = y[:, 1] - y[:, 2], y[:, 3] - y[:, 2], y[:, 0] - y[:, 1] + y[:, 2] - y[:, 3]
    det: npt.NDArray[np.float64] = dx1 * dy2 - dx2 * dy1
    safe = np.where(np.abs(det) < 1e-12, np.nan, det)
    g = (dx3 * dy2 - dx2 * dy3) / safe
    h = (dx1 * dy3 - dx3 * dy1) / safe
    cx, cy = image_size[0] / 2, image_size[1] / 2
    col1 = np.stack(
        [(x[:, 1] - x[:, 0] + g * x[:, 1] - cx * g) / f_px,
         (y[:, 1] - y[:, 0] + g * y[:, 1] - cy * g) / f_px, g], axis=1
    )  # fmt: skip
    col2 = np.stack(
        [(x[:, 3] - x[:, 0] + h * x[:, 3] - cx * h) / f_px,
         (y[:, 3] - y[:, 0] + h * y[:, 3] - cy * h) / f_px, h], axis=1
    )  # fmt: skip
    # Each column is a side of the rectangle in camera space (up to a common scale).
    return np.asarray(np.linalg.norm(col1, axis=1) / np.linalg.norm(col2, axis=1))


def shape_factors(
    quads: npt.NDArray[np.float64], image_size: tuple[int, int], f_px: float,
    ratio: float | None, tolerance: float,
) -> npt.NDArray[np.float64]:  # fmt: skip
    """1 for a rectangle of aspect ``ratio`` (either way round), 0 beyond ``tolerance``."""
    if ratio is None:
        return np.ones(len(quads))
    aspect = aspect_ratios(quads, image_size, f_px)
    seen = np.maximum(aspect, 1.0 / aspect)
    error = np.abs(np.log(seen / ratio)) / math.log(1.0 + tolerance)
    return np.asarray(np.nan_to_num(np.clip(1.0 - error * error, 0.0, 1.0)))
