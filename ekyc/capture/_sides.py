"""The card's edge near one guide side: edge points voting for a straight line.

Works on gradients indexed ``[perp, along]``: for the top and bottom guide sides that is
``|d/dy|`` as is, for the left and right sides ``|d/dx|`` transposed, so one routine serves
all four. Each side computes them only in its own search window. Coordinates are
working-copy pixels (pixel centres at ``i + 0.5``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.capture.guidance import CaptureConfig

F32 = npt.NDArray[np.float32]
_WINDOW = np.ones((1, 3), np.uint8)


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
    rgb: npt.NDArray[np.uint8],
    across_x: bool,
    line: float,
    span: tuple[float, float],
    outward: int,
    size: float,
    cfg: CaptureConfig,
) -> SideLine | None:
    """The straight edge most sample positions agree on in the band across one guide side.

    Args:
        rgb: The working copy of the frame.
        across_x: True for the left and right guide sides (``perp`` is x), False for the
            top and bottom ones (``perp`` is y).
        line: The guide side's ``perp`` coordinate.
        span: The guide side's extent along it.
        outward: -1 when outward is towards smaller ``perp`` (top, left), else +1.
        size: The guide's size across this side, which the band and offset scale with.
        cfg: Thresholds.

    Returns:
        The side line, or None when no line gathers ``min_edge_support`` of the positions.
    """
    n_perp, n_along = rgb.shape[1::-1] if across_x else rgb.shape[:2]
    length = span[1] - span[0]
    a0 = max(0, math.ceil(span[0] + cfg.side_margin * length))
    a1 = min(n_along, math.floor(span[1] - cfg.side_margin * length))
    reach_lo, reach_hi = (cfg.band_outward, cfg.band_inward)[::-outward]
    lo = max(1, math.floor(line - reach_lo * size))
    hi = min(n_perp - 2, math.ceil(line + reach_hi * size))
    if a1 - a0 < 4 * cfg.along_step_px or hi - lo < 2:
        return None
    grad = gradient_window(rgb, across_x, (lo - 1, hi + 2), (a0, a1))
    strip = cv2.blur(grad.astype(np.float32), (cfg.along_smooth_px, 1))
    strip = strip[:, :: cfg.along_step_px]
    n_cols = strip.shape[1]
    mid = strip[1:-1]
    peaks = (mid >= strip[:-2]) & (mid > strip[2:]) & (mid >= cfg.min_edge_gradient)
    rows, cols = np.nonzero(peaks)
    if rows.size < cfg.min_edge_support * n_cols:
        return None
    perp = (lo + rows + 0.5).astype(np.float32)
    along = (cfg.along_step_px * (cols - (n_cols - 1) / 2.0)).astype(np.float32)
    # Back from "along relative to the sampled middle" to working-pixel coordinates.
    centre = a0 + 0.5 + cfg.along_step_px * (n_cols - 1) / 2.0
    lines = _vote(perp, along, cols, (lo, hi, n_cols), outward, cfg)
    if not lines:
        return None
    # The step test, then the refit, outermost line first: most often the first is the
    # outline and the rest need no look (then on all the others at once: a line 1 px off
    # still shows the card's step 3 px either side).
    voted = np.array(lines, np.float64)
    intercepts = voted[:, 0] - voted[:, 1] * centre
    found = []
    for first, last in ((0, 1), (1, len(lines))):
        steps = _steps(rgb, across_x, intercepts[first:last], voted[first:last, 1], (a0, a1), cfg)
        for k in first + np.nonzero(steps >= cfg.min_step_contrast)[0]:
            fit = _refit(perp, along, cols, n_cols, lines[k][0], lines[k][1], cfg)
            if fit is None:
                continue
            found.append((fit[0] - fit[1] * centre, fit[1], fit[2]))
            if fit[2] >= cfg.outline_support_ratio:  # no line further in can outdo it
                break
        if found and found[-1][2] >= cfg.outline_support_ratio:
            break
    if not found:
        return None
    # The outermost of the steps with nearly the best refitted support: the refit's exact
    # angle counts a slightly turned outline fully, which the coarse vote may not.
    best = max(f[2] for f in found)
    intercept, slope, support = next(f for f in found if f[2] >= cfg.outline_support_ratio * best)
    at_middle = intercept + slope * (span[0] + span[1]) / 2
    offset = outward * (at_middle - line) / size
    return SideLine(intercept, slope, support, float(offset))


def _refit(
    perp: F32,
    along: F32,
    cols: npt.NDArray[np.intp],
    n_cols: int,
    intercept: float,
    slope: float,
    cfg: CaptureConfig,
) -> tuple[float, float, float] | None:
    """The voted line refitted to its edge points: intercept, slope and support (or None)."""
    for _ in range(2):  # the vote's angle is coarse: refit, then gather inliers again
        inliers = np.abs(perp - (intercept + slope * along)) <= cfg.line_tolerance_px
        if _positions(cols[inliers], n_cols) < cfg.min_edge_support * n_cols:
            return None
        slope, intercept = _fit_line(along[inliers], perp[inliers])
    inliers = np.abs(perp - (intercept + slope * along)) <= cfg.line_tolerance_px
    return intercept, slope, min(1.0, _positions(cols[inliers], n_cols) / n_cols)


def _steps(
    rgb: npt.NDArray[np.uint8],
    across_x: bool,
    intercepts: npt.NDArray[np.float64],
    slopes: npt.NDArray[np.float64],
    along: tuple[int, int],
    cfg: CaptureConfig,
) -> npt.NDArray[np.float32]:
    """How far the colour steps across each line, averaged along it (grey levels).

    The colours ``step_distance_px`` outside and inside the line, differenced and averaged
    over the side's sample positions: a card's outline is one step all along (the card
    against the table), while lines that texture (wood grain, fabric) lines up for the vote
    step one way here and the other there, and a thin printed rule or a table's groove is
    the same colour on both sides.
    """
    positions = np.arange(along[0], along[1], cfg.along_step_px)
    perp = intercepts[:, None] + slopes[:, None] * (positions + 0.5)
    height, width = rgb.shape[:2]
    n_perp = width if across_x else height
    d = cfg.step_distance_px
    outer = np.clip(np.floor(perp + d), 0, n_perp - 1).astype(np.intp)
    inner = np.clip(np.floor(perp - d), 0, n_perp - 1).astype(np.intp)
    pixels = rgb.reshape(-1, 3)  # flat indices: one gather each side
    if across_x:
        a, b = pixels[positions * width + outer], pixels[positions * width + inner]
    else:
        a, b = pixels[outer * width + positions], pixels[inner * width + positions]
    diff = (a.astype(np.float32) - b).sum(axis=1) / positions.size
    step = np.sqrt((diff * diff).sum(axis=1))
    # A thin line (a printed frame just inside the outline, which stands in for an outline
    # the band or the image cuts off) is one colour all along against both sides.
    centre = np.clip(np.floor(perp), 0, n_perp - 1).astype(np.intp)
    on = pixels[positions * width + centre] if across_x else pixels[centre * width + positions]
    ridge = (on.astype(np.float32) - (a.astype(np.float32) + b) / 2).sum(axis=1) / positions.size
    return np.asarray(np.maximum(step, np.sqrt((ridge * ridge).sum(axis=1))), np.float32)


def gradient_window(
    rgb: npt.NDArray[np.uint8], across_x: bool, perp: tuple[int, int], along: tuple[int, int]
) -> npt.NDArray[np.uint8]:
    """|d/dperp| halved (3x3 Sobel, saturating at 255), the largest over the channels.

    A pale card on a light table differs more in colour than in grey. Indexed
    ``[perp, along]`` over ``perp[0]:perp[1]``, ``along[0]:along[1]``: the very values the
    whole image's Sobel gives there (the window is cut with a pixel of margin, and where it
    meets the image's border the filter reflects it as it would the whole image's).
    """
    (p0, p1), (q0, q1) = perp, along
    rows, cols = ((q0, q1), (p0, p1)) if across_x else ((p0, p1), (q0, q1))
    r0, c0 = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    r1, c1 = min(rows[1] + 1, rgb.shape[0]), min(cols[1] + 1, rgb.shape[1])
    window = np.ascontiguousarray(rgb[r0:r1, c0:c1])
    dx, dy = (1, 0) if across_x else (0, 1)
    sobel = cv2.Sobel(window, cv2.CV_16S, dx, dy, ksize=3)
    grad = cv2.convertScaleAbs(
        sobel[rows[0] - r0 : rows[1] - r0, cols[0] - c0 : cols[1] - c0], alpha=0.5
    )
    r, g, b = cv2.split(grad)
    out = np.asarray(cv2.max(cv2.max(r, g), b), np.uint8)
    return out.T if across_x else out


def _vote(
    perp: F32,
    along: F32,
    cols: npt.NDArray[np.intp],
    band: tuple[int, int, int],
    outward: int,
    cfg: CaptureConfig,
) -> list[tuple[float, float]]:
    """Hough vote over (intercept, angle) counting each sample position once per line.

    Returns the lines with at least ``vote_support_ratio`` of the best support, outermost
    first: a card's outline is long and unbroken, but so is a printed frame just inside it
    (the driving licence's), and the crop wants the outline. Empty when no line reaches
    ``min_edge_support``.
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
    n_lines = len(slopes) * n_bins
    bins = np.floor(perp[None, :] - slopes[:, None] * along[None, :] - base).astype(np.intp)
    # One row per sample position, one column per (slope, bin): a position counts once per
    # line however many of its edge points lie on it. Laid out so that the +-1 bin window is
    # a horizontal dilation and the count a sum down the rows (uint8: n_cols < 256).
    occupied = np.zeros((n_cols, n_lines), np.uint8)
    lines = np.arange(0, n_lines, n_bins)[:, None] + bins
    occupied.reshape(-1)[(cols[None, :] * n_lines + lines).reshape(-1)] = 1
    near = cv2.dilate(occupied, _WINDOW)  # bin b: b-1..b+1 (each slope's end bins dropped below)
    total = np.add.reduce(near, axis=0, dtype=np.uint8 if n_cols < 256 else np.uint16)
    counts = total.reshape(len(slopes), n_bins)[:, 1:-1]  # (slopes, bins): positions on each line
    profile = counts.max(axis=0)
    best = int(profile.max(initial=0))
    cut = max(cfg.min_edge_support * n_cols, cfg.vote_support_ratio * best)
    padded = np.concatenate(([-1], profile, [-1]))
    peaks = np.nonzero((profile >= cut) & (profile >= padded[:-2]) & (profile > padded[2:]))[0]
    order = peaks if outward < 0 else peaks[::-1]
    return [(base + int(b) + 1.5, float(slopes[int(np.argmax(counts[:, b]))])) for b in order]


def _positions(cols: npt.NDArray[np.intp], n_cols: int) -> int:
    """How many distinct sample positions (columns) ``cols`` holds."""
    return int(np.count_nonzero(np.bincount(cols, minlength=n_cols)))


def _fit_line(x: F32, y: F32) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y`` on ``x`` in double, as ``np.polyfit(x, y, 1)``.

    The centred closed form agrees with polyfit's LAPACK solve to ~1e-12 (the same float32
    values in 20,000 random fits), at a quarter of its cost.
    """
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    dx = x64 - x64.mean()
    slope = float((dx @ y64) / (dx @ dx))
    return slope, float(y64.mean() - slope * x64.mean())


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
