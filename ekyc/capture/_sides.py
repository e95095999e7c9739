"""The card's edge near one guide side: edge points voting for a straight line.

Works on one gradient image indexed ``[perp, along]``: for the top and bottom guide sides
that is ``|d/dy|`` as is, for the left and right sides ``|d/dx|`` transposed, so one routine
serves all four. Coordinates are working-copy pixels (pixel centres at ``i + 0.5``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.capture.guidance import CaptureConfig

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SideLine:
    """A found side: ``perp = intercept + slope * along`` in working pixels."""

    intercept: float
    slope: float
    support: float  # share of the side's sample positions on the line, [0, 1]
    offset: float  # outward-positive at the guide side's middle, fraction of the guide size

    @property
    def angle_deg(self) -> float:
        """Angle to the guide side."""
        return math.degrees(math.atan(self.slope))


def find_side(
    grad: npt.NDArray[np.uint8],
    line: float,
    span: tuple[float, float],
    outward: int,
    size: float,
    cfg: CaptureConfig,
) -> SideLine | None:
    """The straight edge most sample positions agree on in the band across one guide side.

    Args:
        grad: Gradient magnitude across the side, indexed ``[perp, along]``.
        line: The guide side's ``perp`` coordinate.
        span: The guide side's extent along it.
        outward: -1 when outward is towards smaller ``perp`` (top, left), else +1.
        size: The guide's size across this side, which the band and offset scale with.
        cfg: Thresholds.

    Returns:
        The side line, or None when no line gathers ``min_edge_support`` of the positions.
    """
    n_perp, n_along = grad.shape
    length = span[1] - span[0]
    a0 = max(0, math.ceil(span[0] + cfg.side_margin * length))
    a1 = min(n_along, math.floor(span[1] - cfg.side_margin * length))
    reach_lo, reach_hi = (cfg.band_outward, cfg.band_inward)[::-outward]
    lo = max(1, math.floor(line - reach_lo * size))
    hi = min(n_perp - 2, math.ceil(line + reach_hi * size))
    if a1 - a0 < 4 * cfg.along_step_px or hi - lo < 2:
        return None
    strip = cv2.blur(grad[lo - 1 : hi + 2, a0:a1].astype(np.float32), (cfg.along_smooth_px, 1))
    strip = strip[:, :: cfg.along_step_px]
    n_cols = strip.shape[1]
    mid = strip[1:-1]
    peaks = (mid >= strip[:-2]) & (mid > strip[2:]) & (mid >= cfg.min_edge_gradient)
    rows, cols = np.nonzero(peaks)
    if rows.size < cfg.min_edge_support * n_cols:
        return None
    perp = (lo + rows + 0.5).astype(np.float32)
    along = (cfg.along_step_px * (cols - (n_cols - 1) / 2.0)).astype(np.float32)
    guess = _vote(perp, along, cols, (lo, hi, n_cols), outward, cfg)
    if guess is None:
        return None
    intercept, slope = guess
    for _ in range(2):  # the vote's angle is coarse: refit, then gather inliers again
        inliers = np.abs(perp - (intercept + slope * along)) <= cfg.line_tolerance_px
        if np.unique(cols[inliers]).size < cfg.min_edge_support * n_cols:
            return None
        slope, intercept = np.polyfit(along[inliers], perp[inliers], 1)
    inliers = np.abs(perp - (intercept + slope * along)) <= cfg.line_tolerance_px
    support = min(1.0, np.unique(cols[inliers]).size / n_cols)
    # Back from "along relative to the sampled middle" to working-pixel coordinates.
    centre = a0 + 0.5 + cfg.along_step_px * (n_cols - 1) / 2.0
    intercept = float(intercept) - float(slope) * centre
    at_middle = intercept + float(slope) * (span[0] + span[1]) / 2
    offset = outward * (at_middle - line) / size
    return SideLine(intercept, float(slope), float(support), float(offset))


def _vote(
    perp: F32,
    along: F32,
    cols: npt.NDArray[np.intp],
    band: tuple[int, int, int],
    outward: int,
    cfg: CaptureConfig,
) -> tuple[float, float] | None:
    """Hough vote over (intercept, angle) counting each sample position once per line.

    Returns the outermost line with nearly the best support: a card's outline is long and
    unbroken, but so is a printed frame just inside it (the driving licence's), and the
    crop wants the outline. None when no line reaches ``min_edge_support``.
    """
    lo, hi, n_cols = band
    angles = np.arange(
        -cfg.max_vote_angle_deg, cfg.max_vote_angle_deg + cfg.vote_angle_step_deg / 2,
        cfg.vote_angle_step_deg,
    )  # fmt: skip
    slopes = np.tan(np.radians(angles)).astype(np.float32)
    drift = math.ceil(float(np.abs(along).max(initial=0.0)) * float(slopes.max()))
    base = lo - drift - 1
    n_bins = hi - lo + 2 * drift + 4
    bins = np.floor(perp[None, :] - slopes[:, None] * along[None, :] - base).astype(np.intp)
    occupied = np.zeros((len(slopes), n_bins, n_cols), dtype=bool)
    occupied[np.arange(len(slopes))[:, None], bins, cols[None, :]] = True
    near = occupied[:, :-2] | occupied[:, 1:-1] | occupied[:, 2:]  # +-1 bin
    counts = np.count_nonzero(near, axis=2)  # (slopes, bins): positions on each line
    profile = counts.max(axis=0)
    best = int(profile.max(initial=0))
    cut = max(cfg.min_edge_support * n_cols, cfg.outline_support_ratio * best)
    padded = np.concatenate(([-1], profile, [-1]))
    peaks = np.nonzero((profile >= cut) & (profile >= padded[:-2]) & (profile > padded[2:]))[0]
    if peaks.size == 0:
        return None
    b = int(peaks[0] if outward < 0 else peaks[-1])
    return base + b + 1.5, float(slopes[int(np.argmax(counts[:, b]))])


def corners(sides: tuple[SideLine | None, ...]) -> F32 | None:
    """TL, TR, BR, BL where the top/bottom lines cross the left/right ones.

    Top and bottom lines give y from x, left and right give x from y. None if one is missing.
    """
    top, right, bottom, left = sides
    if top is None or right is None or bottom is None or left is None:
        return None
    pairs = ((top, left), (top, right), (bottom, right), (bottom, left))
    out = np.empty((4, 2), np.float32)
    for i, (h, v) in enumerate(pairs):
        x = (v.intercept + v.slope * h.intercept) / (1.0 - v.slope * h.slope)
        out[i] = (x, h.intercept + h.slope * x)
    return out


def band_leaves_image(
    shape: tuple[int, ...], box: tuple[float, float, float, float], cfg: CaptureConfig
) -> tuple[bool, bool, bool, bool]:
    """Per side (top, right, bottom, left): whether the outward band runs off the image.

    A card edge beyond the image could not have been seen, so a missing side there hints
    at a card too large rather than at no card.
    """
    height, width = shape[:2]
    x0, y0, x1, y1 = box
    out_x, out_y = cfg.band_outward * (x1 - x0), cfg.band_outward * (y1 - y0)
    return (y0 - out_y < 1, x1 + out_x > width - 1, y1 + out_y > height - 1, x0 - out_x < 1)
