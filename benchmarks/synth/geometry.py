"""Pinhole camera, card pose and the projections used by both the renderer and the ground truth.

Convention:
    * Document coordinates are millimetres with the origin at the centre of the printed
      document (card), x to the right and y down *on the upright document*, z into the
      document (away from a viewer of the printed face). The printed face lies at z = 0,
      the opposite face at z = thickness.
    * Camera coordinates follow OpenCV: x right, y down, z forward along the optical axis.
      ``X_cam = R @ X_doc + t`` with ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` and
      ``t = (offset_x_mm, offset_y_mm, distance_mm)``. The identity pose shows the printed
      face square-on to the camera.
    * Image points are ``(x, y)`` pixels with the origin at the top-left corner of the
      top-left pixel (ekyc.types); the principal point is the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ID1_MM = (85.60, 53.98)
ID1_RADIUS_MM = 3.18
ID1_THICKNESS_MM = 0.76
_DIAG_35MM = math.hypot(36.0, 24.0)


@dataclass(frozen=True, slots=True)
class Camera:
    """A distortion-free pinhole camera with square pixels and a centred principal point.

    ``focal_35mm`` uses the diagonal equivalence (CIPA DC-008 practice): ``f35 = f_px *
    43.27 / hypot(W, H)``; invert it the same way to recover ``f_px`` from EXIF.
    """

    width: int
    height: int
    hfov_deg: float

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")
        if not 1.0 < self.hfov_deg < 170.0:
            raise ValueError(f"hfov_deg must be in (1, 170), got {self.hfov_deg}")

    @property
    def focal_px(self) -> float:
        return self.width / 2.0 / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def focal_35mm(self) -> float:
        return self.focal_px * _DIAG_35MM / math.hypot(self.width, self.height)

    @property
    def matrix(self) -> FloatArray:
        f = self.focal_px
        return np.array([[f, 0.0, self.width / 2.0], [0.0, f, self.height / 2.0], [0, 0, 1.0]])


@dataclass(frozen=True, slots=True)
class Pose:
    """Where the document centre sits in front of the camera, and how it is turned."""

    pitch_deg: float
    yaw_deg: float
    roll_deg: float
    distance_mm: float
    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0

    def __post_init__(self) -> None:
        if not self.distance_mm > 0:
            raise ValueError(f"distance_mm must be > 0, got {self.distance_mm}")

    @property
    def rotation(self) -> FloatArray:
        return rotation_matrix(self.pitch_deg, self.yaw_deg, self.roll_deg)

    @property
    def translation(self) -> FloatArray:
        return np.array([self.offset_x_mm, self.offset_y_mm, self.distance_mm])


def rotation_matrix(pitch_deg: float, yaw_deg: float, roll_deg: float) -> FloatArray:
    """``Rz(roll) @ Ry(yaw) @ Rx(pitch)``: pitch about camera x, yaw about y, roll about z."""
    p, y, r = (math.radians(a) for a in (pitch_deg, yaw_deg, roll_deg))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def tilt_deg(pose: Pose) -> float:
    """Angle between the document normal and the optical axis, in degrees (0..90)."""
    normal = pose.rotation[:, 2]
    return math.degrees(math.atan2(math.hypot(normal[0], normal[1]), abs(normal[2])))


def view_angle_deg(pose: Pose) -> float:
    """Angle between the document normal and the ray from the camera to its centre."""
    normal = pose.rotation @ np.array([0.0, 0.0, 1.0])
    ray = pose.translation / np.linalg.norm(pose.translation)
    return math.degrees(
        math.atan2(float(np.linalg.norm(np.cross(normal, ray))), abs(float(normal @ ray)))
    )


def to_camera(points_mm: FloatArray, pose: Pose) -> FloatArray:
    """Document points ``(N, 3)`` in mm to camera coordinates ``(N, 3)``."""
    return np.asarray(points_mm, dtype=np.float64) @ pose.rotation.T + pose.translation


class BehindCamera(ValueError):
    """A sampled pose put part of a surface behind the camera: no phone takes that shot."""


def project(points_cam: FloatArray, camera: Camera) -> FloatArray:
    """Camera points ``(N, 3)`` to image pixels ``(N, 2)``; points must lie in front (z > 0)."""
    pts = np.asarray(points_cam, dtype=np.float64)
    if np.any(pts[:, 2] <= 0):
        raise BehindCamera("cannot project points behind the camera (z <= 0)")
    f = camera.focal_px
    return np.stack(
        [
            f * pts[:, 0] / pts[:, 2] + camera.width / 2,
            f * pts[:, 1] / pts[:, 2] + camera.height / 2,
        ],
        axis=1,
    )


def rect_corners_mm(rect_mm: tuple[float, float, float, float]) -> FloatArray:
    """Corners TL, TR, BR, BL ``(4, 3)`` of ``(x0, y0, x1, y1)`` on the printed plane z = 0."""
    x0, y0, x1, y1 = rect_mm
    return np.array([[x0, y0, 0.0], [x1, y0, 0.0], [x1, y1, 0.0], [x0, y1, 0.0]])


def centred_rect(size_mm: tuple[float, float]) -> tuple[float, float, float, float]:
    """The ``(x0, y0, x1, y1)`` rectangle of a document of ``size_mm`` centred on the origin."""
    w, h = size_mm
    return (-w / 2, -h / 2, w / 2, h / 2)


def project_card_corners(
    pose: Pose, camera: Camera, size_mm: tuple[float, float] = ID1_MM
) -> npt.NDArray[np.float32]:
    """Image corners TL, TR, BR, BL of the upright document's geometric rectangle, float32."""
    corners = project(to_camera(rect_corners_mm(centred_rect(size_mm)), pose), camera)
    return corners.astype(np.float32)


def plane_homography(
    rect_mm: tuple[float, float, float, float],
    texture_size: tuple[int, int],
    pose: Pose,
    camera: Camera,
) -> FloatArray:
    """Homography from texture pixels (our corner-origin convention) to image pixels.

    The texture of ``texture_size = (width, height)`` pixels covers ``rect_mm`` exactly.
    """
    x0, y0, x1, y1 = rect_mm
    tw, th = texture_size
    to_mm = np.array([[(x1 - x0) / tw, 0, x0], [0, (y1 - y0) / th, y0], [0, 0, 1.0]])
    r, t = pose.rotation, pose.translation
    plane = np.stack([r[:, 0], r[:, 1], t], axis=1)
    h = camera.matrix @ plane @ to_mm
    return h / h[2, 2]


def to_cv_homography(h: FloatArray) -> FloatArray:
    """Convert a corner-origin homography to OpenCV's pixel-centre-origin convention."""
    shift = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1.0]])
    unshift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1.0]])
    return unshift @ h @ shift


def rounded_outline(
    rect_mm: tuple[float, float, float, float], radius_mm: float, n_arc: int = 4
) -> FloatArray:
    """Outline ``(N, 2)`` of a rounded rectangle, clockwise on screen (y down), from the TL arc."""
    x0, y0, x1, y1 = rect_mm
    r = max(0.0, min(radius_mm, (x1 - x0) / 2, (y1 - y0) / 2))
    centres = [(x0 + r, y0 + r), (x1 - r, y0 + r), (x1 - r, y1 - r), (x0 + r, y1 - r)]
    start_angles = [math.pi, 1.5 * math.pi, 0.0, 0.5 * math.pi]
    pts: list[tuple[float, float]] = []
    steps = n_arc if r > 0 else 0
    for (cx, cy), a0 in zip(centres, start_angles, strict=True):
        for k in range(steps + 1):
            a = a0 + 0.5 * math.pi * k / max(steps, 1)
            pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return np.array(pts)


@dataclass(frozen=True, slots=True)
class SideFace:
    """One flat facet of the document's edge: its image quad and whether the camera sees it."""

    polygon: FloatArray  # (4, 2) image pixels
    normal_cam: FloatArray  # (3,) outward unit normal in camera coordinates
    visible: bool
    width_px: float  # projected extent across the thickness


def side_faces(
    rect_mm: tuple[float, float, float, float],
    radius_mm: float,
    thickness_mm: float,
    pose: Pose,
    camera: Camera,
    n_arc: int = 4,
) -> list[SideFace]:
    """The edge facets of the extruded rounded rectangle, each with its visibility.

    A facet is visible when its outward normal points towards the camera centre
    (back-face culling); for the convex card this is exact.
    """
    outline = rounded_outline(rect_mm, radius_mm, n_arc)
    nxt = np.roll(outline, -1, axis=0)
    keep = np.linalg.norm(nxt - outline, axis=1) > 1e-9
    a, b = outline[keep], nxt[keep]
    d = b - a
    normals = np.stack([d[:, 1], -d[:, 0], np.zeros(len(d))], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    z0, z1 = np.zeros((len(a), 1)), np.full((len(a), 1), thickness_mm)
    quad = np.stack(
        [np.hstack([a, z0]), np.hstack([b, z0]), np.hstack([b, z1]), np.hstack([a, z1])], axis=1
    )
    cam = to_camera(quad.reshape(-1, 3), pose).reshape(-1, 4, 3)
    img = project(cam.reshape(-1, 3), camera).reshape(-1, 4, 2)
    n_cam = normals @ pose.rotation.T
    mids = cam.mean(axis=1)
    facing = np.einsum("ij,ij->i", n_cam, mids) < 0
    across = np.linalg.norm(img[:, 3] - img[:, 0], axis=1)
    return [
        SideFace(
            polygon=img[i], normal_cam=n_cam[i], visible=bool(facing[i]), width_px=float(across[i])
        )
        for i in range(len(a))
    ]


def front_faces_camera(pose: Pose) -> bool:
    """True when the printed face (normal -z in document coordinates) faces the camera."""
    normal = pose.rotation @ np.array([0.0, 0.0, -1.0])
    return bool(normal @ pose.translation < 0)
