"""Quad hypotheses from straight edge lines, for outlines that never close.

A white card on a white table, a finger over a side or a table edge touching the card
leaves its outline open or merged with the background, so contour hulls miss it. Its
sides are still long straight edges: line segments (FastLineDetector) are merged into
lines, every combination of two roughly parallel pairs is a quad, and each quad is scored
by how much of its perimeter runs along edge pixels whose gradient is normal to it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import focal_px, shape_factors

__all__ = ["line_candidates"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
_SAMPLES = 24  # points per side when scoring a hypothesis


def line_candidates(
    edges: U8, gx: F32, gy: F32, ratio: float | None, config: DetectConfig
) -> list[tuple[float, F64]]:
    """Scored quads (working-image pixels) assembled from the image's longest lines.

    Args:
        edges: Binary edge map (0/255) of the working image.
        gx: Horizontal gradient of the working image.
        gy: Vertical gradient.
        ratio: The aspect prior's ratio, or None for any shape.
        config: Segment, line and hypothesis limits.

    Returns:
        Up to ``config.max_line_quads`` ``(score, corners)`` pairs, best first.
    """
    height, width = edges.shape
    min_len = config.min_segment_fraction * min(width, height)
    # FastLineDetector on our own colour edges (aperture 0: no Canny of its own) is
    # deterministic and keeps long sides that the probabilistic Hough transform often
    # loses after it has consumed their pixels for a neighbouring line. It erases the edge
    # pixels it uses, so it gets a copy.
    fld = cv2.ximgproc.createFastLineDetector(int(min_len), 1.41, 50, 50, 0, True)
    segs = fld.detect(edges.copy())
    if segs is None:  # OpenCV returns None, not an empty array, when nothing is found
        return []  # type: ignore[unreachable]
    lines = _merge(segs.reshape(-1, 4).astype(np.float64))[: config.max_lines]
    quads = _hypotheses(lines, (width, height), config)
    if len(quads) == 0:
        return []
    wide = cv2.dilate(edges, np.ones((3, 3), np.uint8)) > 0
    norm = np.sqrt(gx * gx + gy * gy) + 1e-6
    f_px = focal_px((width, height), config.prior_focal_35mm)
    shape = shape_factors(quads, (width, height), f_px, ratio, config.aspect_tolerance)
    scores = _coverage(quads, wide, gx / norm, gy / norm) * shape
    order = np.argsort(-scores)[: config.max_line_quads]
    return [(float(scores[i]), quads[i]) for i in order]


def _merge(segs: F64) -> F64:
    """Greedy merge of collinear segments: rows ``(nx, ny, c, support)``, longest first."""
    vec = segs[:, 2:] - segs[:, :2]
    length = np.hypot(vec[:, 0], vec[:, 1])
    order = np.argsort(-length)
    lines: list[list[float]] = []
    for i in order:
        d = vec[i] / length[i]
        n = np.array([-d[1], d[0]])
        mid = (segs[i, :2] + segs[i, 2:]) / 2
        for line in lines:
            ln = np.array(line[:2])
            if abs(float(ln @ n)) > 0.9986 and abs(float(ln @ mid) - line[2]) < 2.5:  # 3 deg
                line[3] += float(length[i])
                break
        else:
            lines.append([n[0], n[1], float(n @ mid), float(length[i])])
    out = np.array(lines, dtype=np.float64)
    return np.asarray(out[np.argsort(-out[:, 3])], dtype=np.float64)


def _hypotheses(lines: F64, size: tuple[int, int], cfg: DetectConfig) -> F64:
    """All quads made of two pairs of roughly parallel lines, as ``(n, 4, 2)`` corners."""
    normals = lines[:, :2]
    i, j = np.triu_indices(len(lines), 1)
    parallel = np.abs(np.sum(normals[i] * normals[j], axis=1)) > np.cos(
        np.radians(cfg.max_side_angle_deg)
    )
    pairs = np.stack([i[parallel], j[parallel]], axis=1)
    p, q = np.triu_indices(len(pairs), 1)
    a, b, c, d = pairs[p, 0], pairs[p, 1], pairs[q, 0], pairs[q, 1]
    apart = np.abs(np.sum(normals[a] * normals[c], axis=1)) < np.cos(
        np.radians(cfg.min_corner_angle_deg)
    )
    a, b, c, d = a[apart], b[apart], c[apart], d[apart]
    homog = np.column_stack([normals, -lines[:, 2]])
    first = np.stack([a, c, b, d], axis=1)
    second = np.stack([c, b, d, a], axis=1)
    pts = np.cross(homog[first], homog[second])
    ok = np.all(np.abs(pts[..., 2]) > 1e-9, axis=1)
    quads = pts[ok, :, :2] / pts[ok, :, 2:3]
    return np.asarray(quads[_plausible(quads, size, cfg)], dtype=np.float64)


def _plausible(quads: F64, size: tuple[int, int], cfg: DetectConfig) -> npt.NDArray[np.bool_]:
    """Convex, large enough, and mostly inside the image."""
    width, height = size
    edge = np.roll(quads, -1, axis=1) - quads
    cross = (
        edge[:, :, 0] * np.roll(edge, -1, axis=1)[:, :, 1]
        - edge[:, :, 1] * np.roll(edge, -1, axis=1)[:, :, 0]
    )
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    x, y = quads[..., 0], quads[..., 1]
    area = 0.5 * np.abs(np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1))
    margin = 0.25
    inside = np.all(
        (x > -margin * width) & (x < (1 + margin) * width)
        & (y > -margin * height) & (y < (1 + margin) * height),
        axis=1,
    )  # fmt: skip
    return np.asarray(convex & inside & (area >= cfg.min_area_fraction * width * height))


def _coverage(quads: F64, edges: npt.NDArray[np.bool_], ux: F32, uy: F32) -> F64:
    """Mean over the four sides of the share of in-frame points on a normal-aligned edge."""
    height, width = edges.shape
    t = np.linspace(0.1, 0.9, _SAMPLES)
    start, end = quads, np.roll(quads, -1, axis=1)
    pts = start[:, :, None, :] + t[None, None, :, None] * (end - start)[:, :, None, :]
    d = end - start
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1) / np.maximum(
        np.linalg.norm(d, axis=-1, keepdims=True), 1e-9
    )
    xi = np.floor(pts[..., 0]).astype(np.int64)
    yi = np.floor(pts[..., 1]).astype(np.int64)
    valid = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
    xi, yi = np.clip(xi, 0, width - 1), np.clip(yi, 0, height - 1)
    aligned = np.abs(ux[yi, xi] * normal[:, :, None, 0] + uy[yi, xi] * normal[:, :, None, 1])
    hit = edges[yi, xi] & (aligned > 0.8) & valid
    per_side = hit.sum(axis=2) / np.maximum(valid.sum(axis=2), 1)
    seen = valid.mean(axis=2)
    return np.asarray(np.mean(per_side * np.minimum(1.0, seen * 2), axis=1), dtype=np.float64)
