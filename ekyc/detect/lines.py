"""Quad hypotheses from straight edge lines, for outlines that never close.

A white card on a white table, a finger over a side or a table edge touching the card
leaves its outline open or merged with the background, so contour hulls miss it. Its
sides are still long straight edges: line segments (FastLineDetector, on a low-threshold
edge map so that a faint outline still yields them) are merged into lines, and every
combination of two roughly parallel pairs is a quad. Each line's boundary evidence
(``ekyc.detect.rank.point_evidence``) is sampled once along its whole length and summed
cumulatively, so a quad's four sides cost four look-ups however many quads there are;
quads are scored like the final ranking (geometric mean of the sides, camera-model aspect,
a preference for the larger), which keeps the card's full outline among those passed on
when a printed panel shares two or three of its sides; the few strongest outlines are
passed on whatever their size (a card among larger quads of desk lines).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.plane import focal_px, shape_factors
from ekyc.detect.rank import point_evidence, visible_area

__all__ = [
    "edge_lines",
    "line_candidates",
    "line_side_evidence",
    "merge_segments",
    "plausible_quads",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]


def edge_lines(edges: U8, config: DetectConfig) -> F64:
    """Every merged line of a binary edge map, longest first (``merge_segments`` rows).

    FastLineDetector on our own colour edges (aperture 0: no Canny of its own) is
    deterministic and keeps long sides that the probabilistic Hough transform often loses
    after it has consumed their pixels for a neighbouring line. It erases the edge pixels
    it uses, so it gets a copy. ``line_candidates`` and ``ekyc.detect.three_sides`` take
    the first ``max_lines`` / ``three_side_lines`` of the same lines.
    """
    height, width = edges.shape
    min_len = config.min_segment_fraction * min(width, height)
    fld = cv2.ximgproc.createFastLineDetector(int(min_len), 1.41, 50, 50, 0, True)
    segs = fld.detect(edges.copy())
    if segs is None:  # OpenCV returns None, not an empty array, when nothing is found
        return np.empty((0, 4))  # type: ignore[unreachable]
    return merge_segments(segs.reshape(-1, 4).astype(np.float64))


def line_candidates(
    lines: F64, colour: F32, gx: F32, gy: F32, ratio: float | None, config: DetectConfig
) -> list[tuple[float, F64]]:
    """Scored quads (working-image pixels) assembled from the image's longest lines.

    Args:
        lines: ``edge_lines`` of the working image's low-threshold edge map (only the
            first ``config.max_lines`` are used).
        colour: The blurred working image, float32 ``(H, W, 3)``.
        gx: Horizontal gradient of the working image.
        gy: Vertical gradient.
        ratio: The aspect prior's ratio, or None for any shape.
        config: Line and hypothesis limits.

    Returns:
        Up to ``config.max_line_quads`` ``(score, corners)`` pairs, best first, then up
        to ``config.line_plain_quads`` more: the best by boundary and shape alone that the
        area preference left out.
    """
    height, width = gx.shape
    lines = lines[: config.max_lines]
    if len(lines) == 0:
        return []
    quads, sides = _hypotheses(lines, (width, height), config)
    if len(quads) == 0:
        return []
    f_px = focal_px((width, height), config.prior_focal_35mm)
    shape = shape_factors(quads, (width, height), f_px, ratio, config.aspect_tolerance)
    quads, sides, shape = quads[shape > 0], sides[shape > 0], shape[shape > 0]
    if len(quads) == 0:
        return []
    evidence = line_side_evidence(quads, sides, lines, colour, gx, gy, config)
    area = visible_area(quads, (width, height))
    plain = np.prod(evidence + 0.01, axis=1) ** 0.25 * shape
    scores = plain * (area / area.max()) ** config.area_weight
    order = np.argsort(-scores)[: config.max_line_quads]
    if config.line_plain_quads > 0:  # the strongest outlines, whatever their size
        strongest = np.argsort(-plain)[: config.line_plain_quads]
        order = np.concatenate([order, strongest[~np.isin(strongest, order)]])
    return [(float(scores[i]), quads[i]) for i in order]


def line_side_evidence(
    quads: F64, sides: npt.NDArray[np.intp], lines: F64, colour: F32, gx: F32, gy: F32,
    cfg: DetectConfig,
) -> F64:  # fmt: skip
    """``rank.side_evidence`` for quads whose sides lie on ``lines``, via prefix sums."""
    height, width = gx.shape
    reach = float(np.hypot(width, height)) / 2
    s = np.arange(-reach, reach + 1.0)  # 1-px steps along each line, centred on the image
    normal = lines[:, :2]
    along = np.stack([-normal[:, 1], normal[:, 0]], axis=1)
    base = along @ np.array([width / 2, height / 2])  # where the image centre projects
    start, end = quads, np.roll(quads, -1, axis=1)
    u = along[sides]  # (n, 4, 2)
    s0, s1 = np.sum(start * u, axis=-1), np.sum(end * u, axis=-1)
    lo, hi = np.minimum(s0, s1), np.maximum(s0, s1)
    lo, hi = lo + 0.12 * (hi - lo), hi - 0.12 * (hi - lo)  # skip the corners, as rank does
    shift = reach - base[sides]
    i0 = np.clip(np.round(lo + shift), 0, len(s)).astype(np.intp)
    i1 = np.clip(np.round(hi + shift), 0, len(s)).astype(np.intp)
    # Only the stretch of each line that some side covers is sampled (point by point, so
    # every side's sum is the one a full sampling gives).
    first = np.full(len(lines), len(s), np.intp)
    last = np.zeros(len(lines), np.intp)
    np.minimum.at(first, sides.ravel(), i0.ravel())
    np.maximum.at(last, sides.ravel(), i1.ravel())
    index = np.arange(len(s))[None, :]
    span = (index >= first[:, None]) & (index < last[:, None])
    foot = lines[:, 2:3] * normal + base[:, None] * along
    pts = foot[:, None, :] + s[None, :, None] * along[:, None, :]
    # Most of each line's reach lies outside the image: only the points inside are sampled.
    valid = (pts[..., 0] >= 0) & (pts[..., 0] < width) & (pts[..., 1] >= 0) & (pts[..., 1] < height)
    sampled = valid & span
    hits = np.zeros(valid.shape)
    normals = np.broadcast_to(normal[:, None, :], pts.shape)
    hits[sampled] = point_evidence(pts[sampled], normals[sampled], colour, gx, gy, cfg)[0]
    zero = np.zeros((len(lines), 1))
    cum_hits = np.concatenate([zero, np.cumsum(hits, axis=1)], axis=1)
    cum_seen = np.concatenate([zero, np.cumsum(valid, axis=1)], axis=1)
    total = np.maximum(i1 - i0, 1)
    seen = cum_seen[sides, i1] - cum_seen[sides, i0]
    per_side = (cum_hits[sides, i1] - cum_hits[sides, i0]) / np.maximum(seen, 1)
    return np.asarray(np.where(seen >= total / 4, per_side, cfg.rank_unseen_side), np.float64)


def merge_segments(segs: F64) -> F64:
    """Greedy merge of collinear segments: rows ``(nx, ny, c, support)``, longest first."""
    vec = segs[:, 2:] - segs[:, :2]
    length = np.hypot(vec[:, 0], vec[:, 1])
    order = np.argsort(-length)
    # Rows (nx, ny, c, support) of the lines so far; each segment joins the first line
    # within 3 degrees and 2.5 px of it, or starts a new one.
    table = np.zeros((len(segs), 4))
    count = 0
    for i in order:
        d = vec[i] / length[i]
        n = np.array([-d[1], d[0]])
        mid = (segs[i, :2] + segs[i, 2:]) / 2
        rows = table[:count]
        near = (np.abs(rows[:, :2] @ n) > 0.9986) & (np.abs(rows[:, :2] @ mid - rows[:, 2]) < 2.5)
        hit = int(np.argmax(near)) if count else 0
        if count and near[hit]:
            table[hit, 3] += float(length[i])
        else:
            table[count] = (n[0], n[1], float(n @ mid), float(length[i]))
            count += 1
    lines = table[:count]
    out = np.array(lines, dtype=np.float64)
    return np.asarray(out[np.argsort(-out[:, 3])], dtype=np.float64)


def _hypotheses(
    lines: F64, size: tuple[int, int], cfg: DetectConfig
) -> tuple[F64, npt.NDArray[np.intp]]:
    """All quads made of two pairs of roughly parallel lines.

    Returns ``(n, 4, 2)`` corners and the ``(n, 4)`` line index of each side (side ``k``
    runs from corner ``k`` to ``k + 1``), so that side evidence can be looked up per line.
    """
    normals = lines[:, :2]
    cos = np.abs(normals @ normals.T)  # |cos| of the angle between every two lines
    i, j = np.triu_indices(len(lines), 1)
    parallel = cos[i, j] > np.cos(np.radians(cfg.max_side_angle_deg))
    first_line, second_line = i[parallel], j[parallel]
    # Every pair of lines meets once: intersect them all up front (homogeneous cross
    # products), so that each quad's corners are a gather rather than four cross products.
    homog = np.column_stack([normals, -lines[:, 2]])
    meet = np.cross(homog[:, None, :], homog[None, :, :])
    finite = np.abs(meet[..., 2]) > 1e-9
    corner = meet[..., :2] / np.where(finite, meet[..., 2], 1.0)[..., None]
    # ``plausible_quads`` keeps only quads whose four corners lie near the image: judged
    # per pair of lines first, so that the pairs of pairs are filtered before any gather.
    width, height = size
    x, y = corner[..., 0], corner[..., 1]
    near = finite & (x > -0.25 * width) & (x < 1.25 * width)
    near &= (y > -0.25 * height) & (y < 1.25 * height)
    # Pairs of pairs whose first lines cross steeply enough, in ``triu_indices`` order,
    # with corners (a, c), (c, b), (b, d), (d, a) near the image (``near`` is symmetric).
    # Row then column takes: one broadcast gather per matrix costs several times more.
    near_a, near_b = near[first_line], near[second_line]
    usable = cos[first_line][:, first_line] < np.cos(np.radians(cfg.min_corner_angle_deg))
    usable &= near_a[:, first_line] & near_b[:, first_line]
    usable &= near_b[:, second_line] & near_a[:, second_line]
    p, q = np.nonzero(np.triu(usable, 1))
    a, b, c, d = first_line[p], second_line[p], first_line[q], second_line[q]
    first = np.stack([a, c, b, d], axis=1)
    second = np.stack([c, b, d, a], axis=1)
    quads = corner[first, second]
    keep = _convex_and_large(quads, size, cfg)  # near the image already
    return np.asarray(quads[keep], dtype=np.float64), second[keep]


def plausible_quads(quads: F64, size: tuple[int, int], cfg: DetectConfig) -> npt.NDArray[np.bool_]:
    """Convex, large enough, and mostly inside the image."""
    width, height = size
    x, y = quads[..., 0], quads[..., 1]
    margin = 0.25
    inside = np.all(
        (x > -margin * width) & (x < (1 + margin) * width)
        & (y > -margin * height) & (y < (1 + margin) * height),
        axis=1,
    )  # fmt: skip
    return np.asarray(inside & _convex_and_large(quads, size, cfg))


def _convex_and_large(
    quads: F64, size: tuple[int, int], cfg: DetectConfig
) -> npt.NDArray[np.bool_]:
    """``plausible_quads`` without the check that the corners lie near the image."""
    width, height = size
    x, y = quads[..., 0], quads[..., 1]
    # Side k runs from corner k to k + 1; consecutive sides turn the same way when convex.
    ex = np.concatenate([x[:, 1:] - x[:, :-1], x[:, :1] - x[:, 3:]], axis=1)
    ey = np.concatenate([y[:, 1:] - y[:, :-1], y[:, :1] - y[:, 3:]], axis=1)
    tx = np.concatenate([ex[:, 1:], ex[:, :1]], axis=1)
    ty = np.concatenate([ey[:, 1:], ey[:, :1]], axis=1)
    cross = ex * ty - ey * tx
    convex = np.all(cross > 0, axis=1) | np.all(cross < 0, axis=1)
    nx = np.concatenate([x[:, 1:], x[:, :1]], axis=1)
    ny = np.concatenate([y[:, 1:], y[:, :1]], axis=1)
    area = 0.5 * np.abs(np.sum(x * ny - nx * y, axis=1))
    return np.asarray(convex & (area >= cfg.min_area_fraction * width * height))
