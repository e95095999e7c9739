"""Rough candidate quads on the working image: closed outlines and straight-line quads.

Two sources, because neither finds every card: the convex hulls of large closed outlines
in a Canny edge map (simplified to their long sides, sides on the image border dropped)
are exact when the outline closes; quads assembled from pairs of roughly parallel lines
(``ekyc.detect.lines``) cover outlines that never close (a finger over a side, a white
card on a white table). ``ekyc.detect.quad`` ranks and refines what this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.lines import edge_lines, line_candidates

__all__ = ["WorkingImage", "candidate_quads", "clockwise", "working_image"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I16 = npt.NDArray[np.int16]
U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True, eq=False)
class WorkingImage:
    """A shot's working copy and what the candidate sources read from it, made once.

    ``ekyc.detect.three_sides`` reads the same lines when no layout is found, so the
    detector keeps this with its result (``quad.QuadSearch``) instead of recomputing it.

    Attributes:
        scale: Working-image pixels per shot pixel (<= 1).
        blur: The blurred working image, float32 ``(H, W, 3)``.
        gx: Horizontal gradient of its strongest channel (``quad.colour_gradient``).
        gy: Vertical gradient.
        mag: Gradient magnitude.
        lines: ``lines.edge_lines`` of the low-threshold edge map, longest first.
        levels: Gradient percentiles: ``line_canny_percentile``, then ``canny_percentiles``.
        dx: ``gx`` as Canny takes it (int16, 8x).
        dy: ``gy`` likewise.
        half: The shot halved by ``cv2.pyrDown`` on the way to the working size, or None
            when it was not (a shot under twice the working size).
    """

    scale: float
    blur: F32
    gx: F32
    gy: F32
    mag: F32
    lines: F64
    levels: F64
    dx: I16
    dy: I16
    half: U8 | None = None


def working_image(
    blur: F32, gx: F32, gy: F32, mag: F32, scale: float, cfg: DetectConfig,
    half: U8 | None = None,
) -> WorkingImage:  # fmt: skip
    """The ``WorkingImage`` of a blurred working copy and its colour gradient."""
    # One partial sort for every threshold: each percentile call would sort again.
    levels = np.percentile(mag, [cfg.line_canny_percentile, *cfg.canny_percentiles])
    dx, dy = (np.clip(g * 8.0, -32767, 32767).astype(np.int16) for g in (gx, gy))
    low = _canny(dx, dy, cfg.line_canny_floor, float(levels[0]))
    return WorkingImage(scale, blur, gx, gy, mag, edge_lines(low, cfg), levels, dx, dy, half)


def _canny(dx: I16, dy: I16, floor: float, level: float) -> npt.NDArray[np.uint8]:
    """Canny on the colour gradient, high threshold ``max(floor, level)``, low half of it."""
    high = max(floor, level) * 8.0
    return np.asarray(cv2.Canny(dx, dy, high * 0.5, high, L2gradient=True), np.uint8)


def candidate_quads(work: WorkingImage, ratio: float | None, cfg: DetectConfig) -> list[F64]:
    """Rough quads (working-image pixels): hulls of closed outlines, then line quads.

    Args:
        work: The working image, its gradient and lines.
        ratio: The aspect prior's ratio, or None for any shape.
        cfg: Thresholds and limits.

    Returns:
        Clockwise quads, outlines (largest first) before line quads, near-duplicates
        within each source dropped.
    """
    height, width = work.mag.shape
    min_area = cfg.min_area_fraction * width * height
    found: list[tuple[float, F64]] = []
    lined = line_candidates(work.lines, work.blur, work.gx, work.gy, ratio, cfg)
    from_lines = [q for _, q in lined]
    for level in work.levels[1:]:
        edges = _canny(work.dx, work.dy, cfg.canny_floor, float(level))
        closed = cv2.dilate(edges, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(closed, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            # The hull lies in the points' bounding box, whose area is (w - 1) x (h - 1):
            # a contour too small by that is too small by its hull's (the same verdict,
            # without the hull of each of the ~200 edge chains of a textured table).
            _, _, box_w, box_h = cv2.boundingRect(contour)
            if (box_w - 1) * (box_h - 1) < min_area:
                continue
            hull = cv2.convexHull(contour)
            area = float(cv2.contourArea(hull))
            # A card's outline, or the hole inside it, fills its hull; edge chains that run
            # from the card into the table's texture do not.
            if area < min_area or cv2.contourArea(contour) < cfg.min_solidity * area:
                continue
            quad = _quad_from_hull(hull.reshape(-1, 2).astype(np.float64), (width, height), cfg)
            if quad is not None:
                found.append((area, quad))
    found.sort(key=lambda item: -item[0])
    outlines = _dedupe([q for _, q in found], cfg.max_candidates)
    # Each source is deduplicated on its own: a hull's sides (approxPolyDP on a dilated
    # outline) often lie 1-3 working px off the edges, where the ranking's one-pixel
    # evidence misses them, while the line quad beside it lies on them. Deduplicated
    # together, the line quad was dropped as the outline's duplicate and a quad of
    # background lines could outrank the misplaced outline (a page with a pen across a
    # side: generated clutter scenes, seeds 30220-30259, 37 -> 40 of 40 at IoU >= 0.98).
    lines = _dedupe(from_lines, cfg.max_line_quads + cfg.line_plain_quads)
    return outlines + lines


def _dedupe(quads: list[F64], limit: int) -> list[F64]:
    """Drop quads whose corners all lie within 3 px of a kept one (in canonical order).

    Canonical order: clockwise, starting at the corner of least ``x + y``. All quads are
    put in that order at once and compared pairwise up front: per-quad numpy calls cost
    more than the comparisons (hundreds of hull quads on a textured table).
    """
    if not quads:
        return []
    stack = np.stack(quads)
    x, y = stack[..., 0], stack[..., 1]
    area2 = np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    stack = np.where((area2 > 0)[:, None, None], stack, stack[:, ::-1])
    first = np.argmin(stack.sum(axis=2), axis=1)
    canon = np.take_along_axis(stack, ((np.arange(4) + first[:, None]) % 4)[..., None], axis=1)
    apart = np.abs(canon[:, None] - canon[None]).max(axis=(2, 3)) > 3.0
    kept: list[int] = []
    for i in range(len(canon)):
        if kept and not apart[i, kept].all():
            continue
        kept.append(i)
        if len(kept) == limit:
            break
    return [canon[i] for i in kept]


def _quad_from_hull(hull: F64, size: tuple[int, int], cfg: DetectConfig) -> F64 | None:
    """The hull's four longest sides off the image border, intersected in order."""
    perimeter = float(cv2.arcLength(hull.astype(np.float32), True))
    poly = cv2.approxPolyDP(hull.astype(np.float32), cfg.approx_epsilon * perimeter, True)
    poly = poly.reshape(-1, 2).astype(np.float64)
    if len(poly) < 4:
        return None
    ends = np.roll(poly, -1, axis=0)
    on_border = np.array([_on_border(a, b, size) for a, b in zip(poly, ends, strict=True)])
    length = np.linalg.norm(ends - poly, axis=1)
    usable = np.flatnonzero(~on_border)
    if len(usable) < 3:
        return None
    if len(usable) == 3:
        usable = np.sort(np.append(usable, np.flatnonzero(on_border)[np.argmax(length[on_border])]))
    keep = np.sort(usable[np.argsort(-length[usable])[:4]])
    sides = [(poly[i], ends[i]) for i in keep]
    corners = []
    for (a0, a1), (b0, b1) in zip(sides, sides[1:] + sides[:1], strict=True):
        point = _line_intersection(a0, a1, b0, b1)
        if point is None:
            return None
        corners.append(point)
    quad = np.array(corners)
    limit = 3.0 * max(size)
    if np.any(np.abs(quad) > limit) or not cv2.isContourConvex(quad.astype(np.float32)):
        return None
    return quad


def _on_border(a: F64, b: F64, size: tuple[int, int], tol: float = 2.5) -> bool:
    width, height = size
    return bool(
        (a[0] < tol and b[0] < tol)
        or (a[1] < tol and b[1] < tol)
        or (a[0] > width - 1 - tol and b[0] > width - 1 - tol)
        or (a[1] > height - 1 - tol and b[1] > height - 1 - tol)
    )


def _line_intersection(a0: F64, a1: F64, b0: F64, b1: F64) -> F64 | None:
    da, db = a1 - a0, b1 - b0
    det = da[0] * -db[1] + db[0] * da[1]
    if abs(det) < 1e-9:
        return None
    t = ((b0 - a0)[0] * -db[1] + db[0] * (b0 - a0)[1]) / det
    return np.asarray(a0 + t * da, dtype=np.float64)


def clockwise(quad: F64) -> F64:
    """The quad's corners clockwise on screen (positive shoelace area with y down)."""
    x, y = quad[:, 0], quad[:, 1]
    area2 = float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
    return quad if area2 > 0 else quad[::-1].copy()
