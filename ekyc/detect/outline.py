"""Move a side that lies on a printed line just inside the card out onto the card's edge.

The licence's outer frame, an address box or a coloured band runs 1-4 mm inside the
card's edge and parallel to it; where the card's own edge is faint (a white card on a
pale table) the line fit of ``ekyc.detect.edges`` can take that printed line for the side.
Across such a side, the colour profile then shows a second, outer step, and the strip
between the two is card paper rather than background.

Per side, the median colour profile is searched outwards for an edge up to
``DetectConfig.outline_search_mm`` away. The side moves to the outermost such edge when

- the strip between the side and that edge is unlike the background (the colour just
  outside the two neighbouring sides, which lie on the card's edge) by
  ``outline_min_contrast`` or more,
- the strip is closer to the colour just inside the side than to the background (card
  paper, not a shadow or a table edge beside the card), and
- across the edge the colour changes by half of that at least, and beyond it the colour
  is the background's again.

A side already on the card's edge has background beyond it, so the strip fails the first
test; a photocopy's paper margin is the background of its neighbouring sides too.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import EdgeProfiles, line_intersection, median_profile, sample_profiles

__all__ = ["outermost_sides"]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
F64 = npt.NDArray[np.float64]

_CARD_LONG_MM = 85.60
_CARD_SHORT_MM = 53.98
_RING_PX = (4.0, 10.0)  # where "just outside" and "just inside" are taken, pixels


def outermost_sides(
    image: F32 | U8, quad: F64, config: DetectConfig
) -> tuple[F64, tuple[float, ...]]:
    """The quad with each side on a printed line moved out to the card's edge.

    Args:
        image: Float32 RGB image, or the uint8 shot (sampled near the sides only); or a
            crop of either, with ``quad`` in its pixels.
        quad: Clockwise corners fitted to the strongest edges.
        config: ``outline_search_mm``, ``outline_min_mm`` and ``outline_min_contrast``.

    Returns:
        The corners, and per side how far it moved outwards in pixels (0: kept).
    """
    quad = np.asarray(quad, dtype=np.float64)
    side = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    # Pixels per millimetre along the card, from its own sides (long sides first or not).
    long_pair, short_pair = sorted([side[0] + side[2], side[1] + side[3]], reverse=True)
    px_mm = (long_pair / (2 * _CARD_LONG_MM) + short_pair / (2 * _CARD_SHORT_MM)) / 2
    reach = config.outline_search_mm * px_mm
    low = config.outline_min_mm * px_mm
    profiles = [
        sample_profiles(
            image, quad[i], quad[(i + 1) % 4], _RING_PX[1], config, outer=reach + _RING_PX[1]
        )
        for i in range(4)
    ]
    medians = [None if p is None else median_profile(p.colour) for p in profiles]
    moves = [0.0, 0.0, 0.0, 0.0]
    for i, prof in enumerate(profiles):
        med = medians[i]
        near = [medians[(i - 1) % 4], medians[(i + 1) % 4]]
        if prof is None or med is None or any(m is None for m in near):
            continue
        outside = [_mean_at(prof, m, *_RING_PX) for m in near if m is not None]
        moves[i] = _outer_edge(prof, med, outside, low, reach, config)
    if not any(moves):
        return quad, tuple(moves)
    lines = []
    for i in range(4):
        p0, p1 = quad[i], quad[(i + 1) % 4]
        d = (p1 - p0) / max(float(np.hypot(*(p1 - p0))), 1e-9)
        normal = np.array([d[1], -d[0]])
        lines.append((p0 + normal * moves[i], p1 + normal * moves[i]))
    corners = np.array([line_intersection(lines[i - 1], lines[i]) for i in range(4)])
    if not np.all(np.isfinite(corners)):
        return quad, (0.0, 0.0, 0.0, 0.0)
    return corners, tuple(moves)


def _mean_at(prof: EdgeProfiles, median: F32 | F64, lo: float, hi: float) -> F64:
    sel = (prof.offsets >= lo) & (prof.offsets <= hi)
    return np.asarray(median[sel].mean(axis=0), dtype=np.float64)


def _outer_edge(
    prof: EdgeProfiles, median: F32 | F64, background: list[F64], low: float, reach: float,
    config: DetectConfig,
) -> float:  # fmt: skip
    """Offset of the outermost edge beyond the side that passes the three tests, or 0."""
    x = prof.offsets
    step = float(x[1] - x[0])
    diff = np.diff(median, axis=0)
    grad = np.sqrt(np.sum(diff * diff, axis=1)) / step
    mid = x[:-1] + step / 2
    peaks = np.flatnonzero(
        (grad[1:-1] >= grad[:-2]) & (grad[1:-1] > grad[2:]) & (mid[1:-1] >= low)
        & (mid[1:-1] <= reach)
    ) + 1  # fmt: skip
    if len(peaks) == 0:
        return 0.0
    d = mid[peaks]
    # Means over offset ranges by prefix sums: every peak's tests at once.
    prefix = np.concatenate([np.zeros((1, 3)), np.cumsum(median, axis=0)])

    def mean(lo: F64, hi: F64) -> F64:
        i0 = np.searchsorted(x, lo)
        i1 = np.maximum(np.searchsorted(x, hi, side="right"), i0 + 1)
        i1 = np.minimum(i1, len(x))
        i0 = np.minimum(i0, i1 - 1)
        return np.asarray((prefix[i1] - prefix[i0]) / (i1 - i0)[:, None], dtype=np.float64)

    ones = np.ones_like(d)
    inside = mean(-_RING_PX[1] * ones, -_RING_PX[0] / 2 * ones)
    strip = np.where((d > 4.0)[:, None], mean(2.0 * ones, d - 2.0), median[peaks])
    beyond = mean(d + _RING_PX[0], d + _RING_PX[1])
    across = mean(d - 3.0, d - 1.0) - mean(d + 1.0, d + 3.0)
    bg = np.stack(background)  # (k, 3)
    to_bg = np.linalg.norm(strip[:, None, :] - bg[None], axis=2).min(axis=1)
    beyond_bg = np.linalg.norm(beyond[:, None, :] - bg[None], axis=2).min(axis=1)
    ok = (
        (to_bg >= config.outline_min_contrast)
        # The edge itself: most of the strip-to-background change happens across it.
        & (np.linalg.norm(across, axis=1) >= 0.5 * to_bg)
        & (np.linalg.norm(strip - inside, axis=1) < 0.5 * to_bg)
        & (beyond_bg < 0.5 * to_bg)
    )
    return float(d[ok].max()) if ok.any() else 0.0
