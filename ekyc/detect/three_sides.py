"""Card outlines from three straight sides, the camera model and the ID-1 aspect.

On a pale table, lit from one side, one side of a white card can vanish: no edge, no
line, so no candidate of four lines or a closed contour is the card, and the detector
settles on a printed panel (the licence's photo box) or a quad closed by a finger. Three
sides still fix the fourth. The two roughly parallel sides meet at a vanishing point
(maybe at infinity): its ray is the direction of those sides in space. The side joining
them lies in the plane through the camera and its image line, and meets them at right
angles, so its direction in space is perpendicular to both; the two directions span the
card's plane. Back-projecting the joining side's two corners onto that plane gives its
length (up to the unknown distance, which cancels), and the ID-1 aspect says how far the
missing side lies along the other two: either way round, on either side.

The hypotheses are ranked by the boundary evidence of their three seen sides (as
``ekyc.detect.lines`` ranks four-line quads) and a preference for the larger; only the
layout (``ekyc.detect.card``) can tell which one is the card.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ekyc.detect.candidates import WorkingImage
from ekyc.detect.config import DetectConfig
from ekyc.detect.lines import line_side_evidence, plausible_quads
from ekyc.detect.plane import focal_px
from ekyc.detect.quad import make_working_image
from ekyc.detect.rank import visible_area
from ekyc.types import Frame, RGBImage

__all__ = ["three_side_quads"]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.intp]


def three_side_quads(
    image: Frame | RGBImage, ratio: float, config: DetectConfig, work: WorkingImage | None = None
) -> list[F32]:
    """Quads with three sides on image lines and the fourth placed by the aspect ``ratio``.

    Args:
        image: The shot.
        ratio: The card's aspect (long over short side).
        config: The line thresholds of ``ekyc.detect.lines``, ``three_side_lines``
            (how many of the longest lines make triples) and ``three_side_hypotheses``
            (how many quads are returned).
        work: The shot's working image (``quad.QuadSearch.working``), made with the same
            ``config``; made here when omitted.

    Returns:
        Full-resolution corners, clockwise, a long side first (either way up), best
        ranked first, those whose corners all lie within 3 working pixels of a better one
        dropped.
    """
    if config.three_side_hypotheses <= 0:
        return []
    if work is None:
        work = make_working_image(image.image if isinstance(image, Frame) else image, config)
    blur, gx, gy, scale = work.blur, work.gx, work.gy, work.scale
    lines = work.lines[: config.three_side_lines]
    size = (blur.shape[1], blur.shape[0])
    if len(lines) < 3:
        return []
    quads, sides, long_b = _hypotheses(lines, size, ratio, config)
    if len(quads) == 0:
        return []
    evidence = line_side_evidence(quads, sides, lines, blur, gx, gy, config)
    # Side 1 is the placed one: only the three sides on lines count.
    seen = np.prod(evidence[:, [0, 2, 3]] + 0.01, axis=1) ** (1.0 / 3.0)
    area = visible_area(quads, size)
    rank = seen * (area / area.max()) ** config.area_weight
    best = _distinct(quads, long_b, rank, config.three_side_hypotheses)
    return [np.asarray(quad / scale, np.float32) for quad in best]


def _distinct(quads: F64, long_b: npt.NDArray[np.bool_], rank: F64, limit: int) -> list[F64]:
    """The best ranked quads, none with all corners within 3 px of a better one.

    Returned clockwise with a long side first (which ``_hypotheses`` knows, so no camera
    model is needed), the order ``align`` and the layout reads take; the search looks at
    the best ``8 * limit`` only, which holds ``limit`` distinct ones in practice.
    """
    top = np.argsort(-rank)[: 8 * limit]
    chosen = np.where(long_b[top, None, None], np.roll(quads[top], 1, axis=1), quads[top])
    x, y = chosen[..., 0], chosen[..., 1]
    turn = np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    chosen = np.where((turn < 0)[:, None, None], chosen[:, ::-1], chosen)  # keeps long first
    # Canonical order for the comparison: clockwise from the corner of least x + y.
    start = np.argmin(chosen.sum(axis=2), axis=1)
    canon = chosen[np.arange(len(chosen))[:, None], (start[:, None] + np.arange(4)) % 4]
    gap = np.abs(canon[:, None] - canon[None]).max(axis=(2, 3))
    kept: list[int] = []
    for i in range(len(chosen)):
        if not kept or float(gap[i, kept].min()) > 3.0:
            kept.append(i)
            if len(kept) == limit:
                break
    return [np.asarray(chosen[i], np.float64) for i in kept]


def _hypotheses(
    lines: F64, size: tuple[int, int], ratio: float, cfg: DetectConfig
) -> tuple[F64, I64, npt.NDArray[np.bool_]]:
    """Every (side, joining side, opposite side) triple, the fourth side placed four ways.

    Returns ``(n, 4, 2)`` corners (sides: on line a, placed, on line c, on line b), the
    ``(n, 4)`` line index per side (the placed side's entry is b's, and means nothing),
    and whether side b (not a) is a long side.
    """
    width, height = size
    f = focal_px(size, cfg.prior_focal_35mm)
    k = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    k_inv = np.array([[1 / f, 0, -width / 2 / f], [0, 1 / f, -height / 2 / f], [0, 0, 1.0]])
    homog = np.column_stack([lines[:, :2], -lines[:, 2]])
    cos = np.abs(lines[:, :2] @ lines[:, :2].T)
    i, j = np.triu_indices(len(lines), 1)
    parallel = cos[i, j] > np.cos(np.radians(cfg.max_side_angle_deg))
    a, c = i[parallel], j[parallel]
    crossing = cos < np.cos(np.radians(cfg.min_corner_angle_deg))
    pair, b = np.nonzero(crossing[a] & crossing[c])
    a, c = a[pair], c[pair]
    h_a, h_b, h_c = homog[a], homog[b], homog[c]
    along = np.cross(h_a, h_c) @ k_inv.T  # direction of sides a and c in space
    across = np.cross(along, h_b @ k)  # side b's: in its back-projected plane, normal to a
    normal = np.cross(along, across)
    p1, p2 = np.cross(h_a, h_b), np.cross(h_c, h_b)  # the two corners on b
    r1, r2 = p1 @ k_inv.T, p2 @ k_inv.T
    d1, d2 = np.sum(normal * r1, axis=1), np.sum(normal * r2, axis=1)
    ok = (np.abs(d1) > 1e-12) & (np.abs(d2) > 1e-12)
    ok &= (np.abs(p1[:, 2]) > 1e-9) & (np.abs(p2[:, 2]) > 1e-9)
    # Both corners on b must lie near the image (as ``lines.plausible_quads`` asks of all four).
    for p in (p1, p2):
        x = p[:, 0] / np.where(np.abs(p[:, 2]) > 1e-9, p[:, 2], 1e-9)
        y = p[:, 1] / np.where(np.abs(p[:, 2]) > 1e-9, p[:, 2], 1e-9)
        ok &= (x > -0.25 * width) & (x < 1.25 * width) & (y > -0.25 * height) & (y < 1.25 * height)
    d1, d2 = np.where(ok, d1, 1.0), np.where(ok, d2, 1.0)
    x1, x2 = r1 / d1[:, None], r2 / d2[:, None]  # on the plane, up to a common scale
    ok &= x1[:, 2] * x2[:, 2] > 0
    front = np.where(x1[:, 2] < 0, -1.0, 1.0)[:, None]  # the plane in front of the camera
    x1, x2 = x1 * front, x2 * front
    length_b = np.linalg.norm(x1 - x2, axis=1)
    unit = along / np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-12)
    ok &= np.isfinite(length_b) & np.all(np.isfinite(unit), axis=1)
    w1 = np.where(ok[:, None], p1, 1.0)
    w2 = np.where(ok[:, None], p2, 1.0)
    c0, c3 = w1[:, :2] / w1[:, 2:], w2[:, :2] / w2[:, 2:]
    quads, sides, longs = [], [], []
    for times in (ratio, 1.0 / ratio):
        for sign in (1.0, -1.0):
            step = (sign * times * length_b)[:, None] * unit
            x3, x4 = x1 + step, x2 + step
            valid = ok & (x3[:, 2] > 1e-9) & (x4[:, 2] > 1e-9)
            q3, q4 = x3 @ k.T, x4 @ k.T
            q3[:, 2] = np.where(valid, q3[:, 2], 1.0)
            q4[:, 2] = np.where(valid, q4[:, 2], 1.0)
            corners = np.stack([c0, q3[:, :2] / q3[:, 2:], q4[:, :2] / q4[:, 2:], c3], axis=1)
            quads.append(corners[valid])
            sides.append(np.stack([a, b, c, b], axis=1)[valid])
            longs.append(np.full(int(valid.sum()), times < 1.0))
    all_quads = np.concatenate(quads)
    all_sides = np.concatenate(sides)
    keep = plausible_quads(all_quads, size, cfg)
    return (
        np.asarray(all_quads[keep], np.float64),
        np.asarray(all_sides[keep], np.intp),
        np.concatenate(longs)[keep],
    )
