"""Put a textured, possibly thick, planar surface (card, phone, paper sheet) into a frame.

Everything is vectorised: the texture goes in with one ``cv2.warpPerspective`` restricted to the
surface's bounding box, the visible edge facets with anti-aliased ``fillConvexPoly``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from benchmarks.synth.geometry import (
    Camera,
    Pose,
    plane_homography,
    project,
    rect_corners_mm,
    rounded_outline,
    side_faces,
    to_camera,
    to_cv_homography,
)

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
Rect = tuple[float, float, float, float]
_SHIFT = 4  # sub-pixel bits for cv2 polygon filling
_LIGHT = np.array([-0.3, -0.6, -0.74])  # unit-ish direction towards the main light, camera frame


@dataclass(frozen=True, slots=True, eq=False)
class Surface:
    """A planar object in document coordinates: texture (RGBA) over ``rect_mm``, thickness."""

    rgba: U8  # (h, w, 4), alpha 0 outside the rounded outline
    rect_mm: Rect
    radius_mm: float
    thickness_mm: float
    edge_rgb: tuple[int, int, int]
    gloss: float  # 0 matte paper .. 1 laminated card / glass
    mips: dict[int, U8] = field(default_factory=dict)  # premultiplied mip levels, filled lazily


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a surface landed: its bounding box in the frame and its coverage inside that box."""

    x0: int
    y0: int
    coverage: F32  # (h, w) in [0, 1], printed face and visible edges
    face_coverage: F32  # printed face only
    thickness_px: float  # widest visible edge facet, pixels
    visible_edges: int  # number of edge facets facing the camera


def _poly_int(points: npt.NDArray[np.float64], x0: int, y0: int) -> npt.NDArray[np.int32]:
    # Pixel-centre convention for cv2 drawing: our corner-origin point p is cv2's p - 0.5.
    return np.round((points - [x0 + 0.5, y0 + 0.5]) * (1 << _SHIFT)).astype(np.int32)


def _premultiplied(rgba: U8) -> U8:
    """RGB scaled by alpha (alpha kept): what bilinear warping and blending should work on.

    Only rows with some transparency change (a rounded outline's corner bands), so only those
    are computed.
    """
    rows = np.flatnonzero(rgba[..., 3].min(axis=1) < 255)
    if not len(rows):
        return rgba
    out = rgba.copy()
    breaks = np.flatnonzero(np.diff(rows) > 1)
    for r0, r1 in zip(rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]], strict=True):
        band = out[r0 : r1 + 1]
        alpha = cv2.extractChannel(band, 3)
        weights = cv2.merge([alpha, alpha, alpha, np.full_like(alpha, 255)])
        out[r0 : r1 + 1] = cv2.multiply(band, weights, scale=1 / 255)
    return out


def _mip(surf: Surface, level: int) -> U8:
    """The premultiplied texture at 1/2**level resolution (INTER_AREA), cached on the surface."""
    if level not in surf.mips:
        tex = surf.rgba
        if level > 0:
            h, w = surf.rgba.shape[:2]
            size = (max(2, round(w / 2**level)), max(2, round(h / 2**level)))
            tex = cv2.resize(surf.rgba, size, interpolation=cv2.INTER_AREA)
        surf.mips[level] = _premultiplied(tex)
    return surf.mips[level]


def _mip_level(surf: Surface, corners: npt.NDArray[np.float64]) -> int:
    tex_w = surf.rgba.shape[1]
    proj_w = max(np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[2] - corners[3]))
    scale = proj_w / tex_w
    level = 0
    while scale * 2**level < 0.5 and level < 4:  # minify by at most 2x with bilinear sampling
        level += 1
    return level


def place_surface(frame: U8, surf: Surface, pose: Pose, camera: Camera) -> Placed | None:
    """Draw ``surf`` into ``frame`` (uint8 RGB, modified in place); None when out of view."""
    h_img, w_img = frame.shape[:2]
    faces = side_faces(surf.rect_mm, surf.radius_mm, surf.thickness_mm, pose, camera)
    outline = rounded_outline(surf.rect_mm, surf.radius_mm)
    pts = project(to_camera(np.hstack([outline, np.zeros((len(outline), 1))]), pose), camera)
    visible = [f for f in faces if f.visible and surf.thickness_mm > 0]
    allpts = np.vstack([pts, *[f.polygon for f in visible]]) if visible else pts
    x0, y0 = (
        max(0, int(np.floor(allpts[:, 0].min())) - 1),
        max(0, int(np.floor(allpts[:, 1].min())) - 1),
    )
    x1 = min(w_img, int(np.ceil(allpts[:, 0].max())) + 2)
    y1 = min(h_img, int(np.ceil(allpts[:, 1].max())) + 2)
    if x1 <= x0 or y1 <= y0:
        return None
    roi = frame[y0:y1, x0:x1]
    edge_a = None
    if visible:
        edge_cov = np.zeros(roi.shape[:2], np.uint8)
        edge_col = np.zeros_like(roi)
        polys = [_poly_int(f.polygon, x0, y0) for f in visible]
        for f, poly in zip(visible, polys, strict=True):
            shade = 0.45 + 0.55 * abs(float(f.normal_cam @ _LIGHT))
            cv2.fillConvexPoly(edge_cov, poly, 255, cv2.LINE_AA, _SHIFT)
            cv2.fillConvexPoly(
                edge_col, poly, [c * shade for c in surf.edge_rgb], cv2.LINE_8, _SHIFT
            )
        # The colour fill (LINE_8) stops short of the coverage's anti-aliased fringe: left
        # black there, it blended a seam ~40 % darker than the background along the side
        # face's far edge (seed 43000 scene 4: 141 against 238 grey), a line no card shows.
        # The fringe takes its neighbouring facet's colour instead.
        grown = cv2.dilate(edge_col, np.ones((3, 3), np.uint8), iterations=2)
        edge_col = np.where(edge_col.any(axis=2, keepdims=True), edge_col, grown)
        edge_a = edge_cov.astype(np.float32) * (1 / 255)
        # blend only the facets' box: they are thin strips along the outline
        ex0, ey0 = (np.min([p.min(axis=0) for p in polys], axis=0) >> _SHIFT) - 1
        ex1, ey1 = (np.max([p.max(axis=0) for p in polys], axis=0) >> _SHIFT) + 2
        box = np.s_[max(0, ey0) : max(0, ey1), max(0, ex0) : max(0, ex1)]
        ea = edge_a[box]
        if ea.size:
            roi[box] = cv2.blendLinear(edge_col[box], roi[box], ea, 1 - ea)
    corners = project(to_camera(rect_corners_mm(surf.rect_mm), pose), camera)
    level = _mip_level(surf, corners)
    tex = _mip(surf, level)
    hom = plane_homography(surf.rect_mm, (tex.shape[1], tex.shape[0]), pose, camera)
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1.0]])
    warped = cv2.warpPerspective(
        tex,
        shift @ to_cv_homography(hom),
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    # premultiplied "over": warped + roi * (1 - alpha)
    alpha = cv2.extractChannel(warped, 3)
    behind = cv2.multiply(roi, cv2.merge([cv2.bitwise_not(alpha)] * 3), scale=1 / 255)
    roi[:] = cv2.add(cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), behind)
    face_a = alpha.astype(np.float32) * (1 / 255)
    coverage = face_a if edge_a is None else np.maximum(face_a, edge_a)
    return Placed(
        x0, y0, coverage, face_a, max((f.width_px for f in visible), default=0.0), len(visible)
    )


def add_glare(
    frame: U8,
    placed: Placed,
    corners: npt.NDArray[np.float32],
    n: int,
    strength: float,
    rng: np.random.Generator,
) -> list[dict[str, float]]:
    """Specular spots (saturating towards white) clipped to the surface; returns their params."""
    spots = []
    h, w = placed.coverage.shape
    side = float(np.linalg.norm(corners[1] - corners[0]))
    for _ in range(n):
        a, b = rng.uniform(0.1, 0.9, 2)
        top = corners[0] + a * (corners[1] - corners[0])
        bot = corners[3] + a * (corners[2] - corners[3])
        cx, cy = top + b * (bot - top)
        sx, sy = side * rng.uniform(0.04, 0.16), side * rng.uniform(0.02, 0.08)
        ang = rng.uniform(0, np.pi)
        s = strength * rng.uniform(0.6, 1.0)
        spots.append(
            {
                "x": float(cx),
                "y": float(cy),
                "sigma_x": float(sx),
                "sigma_y": float(sy),
                "angle_rad": float(ang),
                "strength": float(s),
            }
        )
        # the spot's box: its 3.5-sigma ellipse (the light added beyond is under a grey level)
        ca, sa = float(np.cos(ang)), float(np.sin(ang))
        ex, ey = 3.5 * float(np.hypot(sx * ca, sy * sa)), 3.5 * float(np.hypot(sx * sa, sy * ca))
        lx0, ly0 = max(0, int(cx - ex) - placed.x0), max(0, int(cy - ey) - placed.y0)
        lx1, ly1 = min(w, int(cx + ex) + 1 - placed.x0), min(h, int(cy + ey) + 1 - placed.y0)
        if lx1 <= lx0 or ly1 <= ly0:
            continue
        dx = (np.arange(lx0, lx1, dtype=np.float32) + (placed.x0 + 0.5 - cx))[None, :]
        dy = (np.arange(ly0, ly1, dtype=np.float32) + (placed.y0 + 0.5 - cy))[:, None]
        u = (dx * ca + dy * sa) / sx
        v = (dy * ca - dx * sa) / sy
        g = np.exp(-0.5 * (u * u + v * v)) * (s * 1.6) * placed.face_coverage[ly0:ly1, lx0:lx1]
        np.minimum(g, 1.0, out=g)  # a saturated core
        region = frame[placed.y0 + ly0 : placed.y0 + ly1, placed.x0 + lx0 : placed.x0 + lx1]
        # region + (275 - region) * g, saturating: the colour enters through 1-channel weights
        lit = cv2.multiply(region, cv2.merge([1 - g] * 3), dtype=cv2.CV_32F)
        lit += cv2.merge([g * 275.0] * 3)
        region[:] = np.clip(lit, 0, 255).astype(np.uint8)
    return spots
