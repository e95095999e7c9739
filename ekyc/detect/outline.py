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
from ekyc.detect.edges import EdgeProfiles, line_intersection, median_profile, sample_sides

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
    profiles = sample_sides(image, quad, _RING_PX[1], config, outer=reach + _RING_PX[1])
    # A side is looked at only when it and both its neighbours have profiles (the
    # neighbours' medians just outside them are the background).
    looked = [
        i for i in range(4)
        if all(p is not None for p in (profiles[i - 1], profiles[i], profiles[(i + 1) % 4]))
    ]  # fmt: skip
    if not looked:
        return quad, (0.0, 0.0, 0.0, 0.0)
    # Every side's profiles share one offset grid (the same reach): the four sides' steps
    # run as one pass over a (4, m, 3) stack of medians (numpy's per-call overhead was
    # most of the per-side version's cost).
    offsets = next(p.offsets for p in profiles if p is not None)
    medians = _medians(profiles)
    ring = (offsets >= _RING_PX[0]) & (offsets <= _RING_PX[1])
    # Just outside each side: the colour of the background (float32 mean, as ``mean``).
    outside = np.asarray(medians[:, ring].mean(axis=1), dtype=np.float64)
    moves = _outer_edges(offsets, medians, outside, looked, low, reach, config)
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


def _medians(profiles: list[EdgeProfiles | None]) -> F32:
    """``(4, m, 3)`` median profile of each side (zeros where a side has none).

    ``median_profile``'s values: sides with the same number of profiles share one
    partition call.
    """
    colours = {i: p.colour for i, p in enumerate(profiles) if p is not None}
    shape = next(iter(colours.values())).shape[1:]
    out = np.zeros((4, *shape), dtype=np.float32)
    for n in sorted({c.shape[0] for c in colours.values()}):
        sides = [i for i, c in colours.items() if c.shape[0] == n]
        stacked = np.concatenate([colours[i] for i in sides], axis=1)
        out[sides] = median_profile(stacked).reshape(len(sides), *shape)
    return out


def _outer_edges(
    x: F64, medians: F32, outside: F64, looked: list[int], low: float, reach: float,
    config: DetectConfig,
) -> list[float]:  # fmt: skip
    """Per side, the offset of the outermost edge beyond it that passes the three tests, or 0.

    ``outside[k]``: the background just outside side ``k``; side ``i``'s background is
    its two neighbours' (they lie on the card's edge).
    """
    moves = [0.0, 0.0, 0.0, 0.0]
    step = float(x[1] - x[0])
    diff = np.diff(medians[looked], axis=1)
    grad = np.sqrt(np.sum(diff * diff, axis=2)) / step
    mid = x[:-1] + step / 2
    inner = (mid[1:-1] >= low) & (mid[1:-1] <= reach)
    side_of, peaks = np.nonzero(
        (grad[:, 1:-1] >= grad[:, :-2]) & (grad[:, 1:-1] > grad[:, 2:]) & inner[None]
    )
    if len(peaks) == 0:
        return moves
    peaks = peaks + 1
    d = mid[peaks]
    # Means over offset ranges by prefix sums: every side's and peak's tests at once.
    zeros = np.zeros((len(looked), 1, 3))
    prefix = np.concatenate([zeros, np.cumsum(medians[looked], axis=1)], axis=1)

    def mean(lo: F64, hi: F64) -> F64:
        i0 = np.searchsorted(x, lo)
        i1 = np.maximum(np.searchsorted(x, hi, side="right"), i0 + 1)
        i1 = np.minimum(i1, len(x))
        i0 = np.minimum(i0, i1 - 1)
        span = prefix[side_of, i1] - prefix[side_of, i0]
        return np.asarray(span / (i1 - i0)[:, None], dtype=np.float64)

    ones = np.ones_like(d)
    inside = mean(-_RING_PX[1] * ones, -_RING_PX[0] / 2 * ones)
    strip = np.where((d > 4.0)[:, None], mean(2.0 * ones, d - 2.0), medians[looked][side_of, peaks])
    beyond = mean(d + _RING_PX[0], d + _RING_PX[1])
    across = mean(d - 3.0, d - 1.0) - mean(d + 1.0, d + 3.0)
    index = np.asarray(looked)[side_of]
    bg = np.stack([outside[(index - 1) % 4], outside[(index + 1) % 4]], axis=1)  # (P, 2, 3)
    to_bg = np.linalg.norm(strip[:, None, :] - bg, axis=2).min(axis=1)
    beyond_bg = np.linalg.norm(beyond[:, None, :] - bg, axis=2).min(axis=1)
    ok = (
        (to_bg >= config.outline_min_contrast)
        # The edge itself: most of the strip-to-background change happens across it.
        & (np.linalg.norm(across, axis=1) >= 0.5 * to_bg)
        & (np.linalg.norm(strip - inside, axis=1) < 0.5 * to_bg)
        & (beyond_bg < 0.5 * to_bg)
    )
    for k in np.unique(side_of[ok]):
        moves[looked[k]] = float(d[ok & (side_of == k)].max())
    return moves
