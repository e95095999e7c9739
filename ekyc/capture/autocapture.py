"""Auto-capture: guidance for each preview frame, and when to take the shot.

The capture page draws a guide (``Guide``) and the applicant moves the card into it, so
there is no need for a general card detector here. On a small copy of the frame, each guide
side is searched for the card's edge in a band across it: edge points (local maxima of the
colour gradient across the side) vote for a straight line over a small range of angles, and
the outermost line that most positions agree on and that the colour steps across is the
side. The four side offsets decide the geometry (no card / move closer / move away / fit the
frame); a fitting card's region is then judged for exposure, glare and focus (even blur, or a
streak in any one direction). Four sides that do not fit on a blurred guide region ask for
focus first: blur moves the found lines, so "fit the frame" would be the wrong advice.
``should_capture`` asks for a run of READY frames whose corners barely move. ~6-7 ms CPU per
1280x720 frame on one core at load 10-12 (``benchmarks/autocapture.py``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.capture._sides import SideLine, band_leaves_image, find_side
from ekyc.capture._sides import corners as side_corners
from ekyc.capture.guidance import CaptureConfig, FrameGuidance, GuidanceCode, Guide
from ekyc.capture.quality import glare_mask
from ekyc.types import Frame, RGBImage

__all__ = ["assess_frame", "hold_guidance", "should_capture"]

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601, as cv2's RGB2GRAY
# [1, -2, 1] along x, y and the two diagonals.
_SECOND_DIFF = tuple(
    np.array(k, np.float32)
    for k in (
        [[1, -2, 1]],
        [[1], [-2], [1]],
        [[0, 0, 1], [0, -2, 0], [1, 0, 0]],
        [[1, 0, 0], [0, -2, 0], [0, 0, 1]],
    )
)


def assess_frame(
    frame: Frame | RGBImage, guide: Guide, config: CaptureConfig | None = None
) -> FrameGuidance:
    """Judge one preview frame against the guide and say what the applicant should do.

    Args:
        frame: The preview frame (RGB uint8), the size the guide is given in.
        guide: The rectangle drawn on the preview, in the frame's pixels.
        config: Thresholds; ``CaptureConfig()`` when omitted.

    Returns:
        A ``FrameGuidance``: the code, and corners and measurements where the card was seen.

    Example:
        >>> import numpy as np
        >>> grey = np.full((720, 1280, 3), 128, np.uint8)
        >>> assess_frame(grey, Guide.centred(1280, 720)).code.name
        'NO_CARD'
    """
    cfg = config or CaptureConfig()
    rgb = frame.image if isinstance(frame, Frame) else frame
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width = rgb.shape[:2]
    if guide.x + guide.width > width or guide.y + guide.height > height:
        raise ValueError(f"guide {guide} does not fit in the {width}x{height} frame")
    fine, fine_scale = _shrink(rgb, cfg.sharpness_side_px / max(height, width))
    small, small_scale = _shrink(fine, cfg.edge_side_px / max(height, width) / fine_scale)
    scale = fine_scale * small_scale
    x0, y0 = guide.x * scale, guide.y * scale
    x1, y1 = x0 + guide.width * scale, y0 + guide.height * scale
    spans = ((x0, x1), (y0, y1))
    sides = (
        find_side(small, False, y0, spans[0], -1, y1 - y0, cfg),  # top
        find_side(small, True, x1, spans[1], +1, x1 - x0, cfg),  # right
        find_side(small, False, y1, spans[0], +1, y1 - y0, cfg),  # bottom
        find_side(small, True, x0, spans[1], -1, x1 - x0, cfg),  # left
    )
    code = _geometry_code(sides, band_leaves_image(small.shape[:2], (x0, y0, x1, y1), cfg), cfg)
    corners = side_corners(sides)
    glare = sharp = streak = None
    if code is GuidanceCode.READY and corners is not None:
        luminance, glare, (sharp, streak) = _photometry(fine, small, corners, cfg)
        code = _photometry_code(luminance, glare, sharp, streak, cfg)
    else:
        # A dark frame hides the card's edges too: say so before "no card".
        guide_box = small[round(y0) : round(y1), round(x0) : round(x1)]
        luminance = _luminance(guide_box)
        if luminance < cfg.min_luminance:
            code = GuidanceCode.TOO_DARK
        elif code is GuidanceCode.FIT_FRAME and corners is not None:
            # Blur smears the card's outline until a side's line is one printed inside it
            # (or a streak's far end), so a blurred card in the guide "does not fit": judge
            # focus inside the four lines (on the card even when one is a printed line; the
            # guide's box would hold a small card's plain table) and ask for that first.
            sharp, streak = _focus(fine, small.shape[1], _inner_box(corners, small.shape, cfg))
            if streak < cfg.min_directional_sharpness:
                code = GuidanceCode.BLURRED
    return FrameGuidance(
        code,
        guide,
        corners=None if corners is None else (corners / scale).astype(np.float32),
        edge_strengths=(
            _support(sides[0]),
            _support(sides[1]),
            _support(sides[2]),
            _support(sides[3]),
        ),
        side_offsets=(_offset(sides[0]), _offset(sides[1]), _offset(sides[2]), _offset(sides[3])),
        luminance=luminance,
        glare_fraction=glare,
        sharpness=sharp,
        directional_sharpness=streak,
    )


def hold_guidance(
    history: Sequence[FrameGuidance],
    timestamps_ms: Sequence[float] | None = None,
    config: CaptureConfig | None = None,
) -> GuidanceCode:
    """The code to show now, given the recent frames' guidance (oldest first).

    A frame that is not READY speaks for itself. A READY frame becomes HOLD_STILL until the
    card has been READY and still for long enough: ``hold_frames`` frames, or ``hold_ms``
    when the arrival times are known (the preview rate varies with the phone and network).

    Args:
        history: ``assess_frame`` results for consecutive preview frames, oldest first.
        timestamps_ms: Arrival time of each, non-decreasing; same length as ``history``.
        config: Thresholds; ``CaptureConfig()`` when omitted.

    Returns:
        READY only when the shot should be taken now; NO_CARD for an empty history.
    """
    cfg = config or CaptureConfig()
    if not history:
        return GuidanceCode.NO_CARD
    if history[-1].code is not GuidanceCode.READY:
        return history[-1].code
    if timestamps_ms is None:
        if len(history) < cfg.hold_frames:
            return GuidanceCode.HOLD_STILL
        window = history[-cfg.hold_frames :]
    else:
        times = np.asarray(timestamps_ms, np.float64)
        if times.shape != (len(history),) or np.any(np.diff(times) < 0):
            raise ValueError(
                f"timestamps_ms must be {len(history)} non-decreasing values, got {times.shape}"
            )
        reached = np.nonzero(times[-1] - times >= cfg.hold_ms)[0]
        if reached.size == 0:
            return GuidanceCode.HOLD_STILL
        window = history[int(reached[-1]) :]
    corners = [g.corners for g in window if g.code is GuidanceCode.READY]
    if len(corners) < len(window):
        return GuidanceCode.HOLD_STILL
    for (before, after), g in zip(itertools.pairwise(corners), window[1:], strict=True):
        if before is None or after is None:  # READY always has corners; for the type checker
            return GuidanceCode.HOLD_STILL
        moved = float(np.max(np.linalg.norm(after - before, axis=1)))
        if moved > cfg.max_motion * g.guide.width:
            return GuidanceCode.HOLD_STILL
    return GuidanceCode.READY


def should_capture(
    history: Sequence[FrameGuidance],
    timestamps_ms: Sequence[float] | None = None,
    config: CaptureConfig | None = None,
) -> bool:
    """Whether to take the shot now: a still, sharp, glare-free card held in the guide.

    See ``hold_guidance`` for the rule; the front end shows its code while this is False.

    Example:
        >>> should_capture([])
        False
    """
    return hold_guidance(history, timestamps_ms, config) is GuidanceCode.READY


def _shrink(rgb: RGBImage, scale: float) -> tuple[RGBImage, float]:
    """Area-average down to ``scale`` (never up); returns the image and the scale used."""
    if scale >= 1.0:
        return rgb, 1.0
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), np.uint8)
    return small, size[0] / width


def _geometry_code(
    sides: tuple[SideLine | None, ...], beyond: tuple[bool, ...], cfg: CaptureConfig
) -> GuidanceCode:
    """Where the card is relative to the guide, from the sides found and their offsets."""
    found = [s for s in sides if s is not None]
    if len(found) < 2:  # one straight line is as likely a table edge as a card
        return GuidanceCode.NO_CARD
    turned = any(abs(s.angle_deg) > cfg.max_side_angle_deg for s in found)
    offsets = np.array([s.offset for s in found])
    tol = cfg.fit_tolerance
    mean = float(offsets.mean())
    if len(found) < 4:
        # Sides lost off the image while the others lie outside the guide: the card is big.
        lost = any(b for s, b in zip(sides, beyond, strict=True) if s is None)
        if lost and mean > tol and offsets.min() > -tol and not turned:
            return GuidanceCode.MOVE_AWAY
        # Two parallel lines and nothing across them: a table's planks or a page's lines
        # rather than a card (whose other sides would show unless it sits far off the
        # guide, where "place the card inside the frame" is the right words too).
        parallel = (sides[0] is None and sides[2] is None) or (
            sides[1] is None and sides[3] is None
        )
        return GuidanceCode.NO_CARD if parallel and len(found) == 2 else GuidanceCode.FIT_FRAME
    if turned:
        return GuidanceCode.FIT_FRAME
    if np.all(np.abs(offsets) <= tol):
        return GuidanceCode.READY
    # Width over height of the four lines against the guide's (the card's): far from 1,
    # one of them is not the card's edge (its edge left the band for a line printed inside
    # it: a shifted card), so no size advice.
    top, right, bottom, left = offsets
    shape = (1.0 + right + left) / (1.0 + top + bottom)
    if abs(math.log(max(shape, 1e-6))) > math.log(cfg.max_shape_ratio):
        return GuidanceCode.FIT_FRAME
    if mean < -tol and offsets.max() < tol:
        return GuidanceCode.MOVE_CLOSER
    if mean > tol and offsets.min() > -tol:
        return GuidanceCode.MOVE_AWAY
    return GuidanceCode.FIT_FRAME


def _photometry(
    fine: RGBImage, small: RGBImage, corners: F32, cfg: CaptureConfig
) -> tuple[float, float, tuple[float, float]]:
    """Luminance and glare fraction on the small copy, ``_focus`` on the fine one."""
    x0, y0, x1, y1 = _inner_box(corners, small.shape, cfg)
    region = np.ascontiguousarray(small[y0:y1, x0:x1])
    luminance = _luminance(region)
    # No channel reaching the glare level anywhere: the mask is empty, skip its morphology.
    clipped = int(region.max()) >= cfg.quality.glare_level
    glare = float(np.mean(glare_mask(region, cfg.quality))) if clipped else 0.0
    return luminance, min(1.0, glare), _focus(fine, small.shape[1], (x0, y0, x1, y1))


def _inner_box(
    corners: F32, shape: tuple[int, ...], cfg: CaptureConfig
) -> tuple[int, int, int, int]:
    """The card's inner box on the small copy, inset so that the outline is not detail."""
    height, width = shape[:2]
    x_lo, x_hi = max(corners[0, 0], corners[3, 0]), min(corners[1, 0], corners[2, 0])
    y_lo, y_hi = max(corners[0, 1], corners[1, 1]), min(corners[2, 1], corners[3, 1])
    dx, dy = cfg.region_inset * (x_hi - x_lo), cfg.region_inset * (y_hi - y_lo)
    box = np.array([x_lo + dx, y_lo + dy, x_hi - dx, y_hi - dy])
    box = np.clip(box, 0, [width, height, width, height])
    x0, y0, x1, y1 = (int(v) for v in np.round(box))
    return x0, y0, max(x1, x0 + 2), max(y1, y0 + 2)


def _focus(
    fine: RGBImage, small_width: int, box: tuple[float, float, float, float]
) -> tuple[float, float]:
    """``_sharpness`` and ``_directional_sharpness`` of ``box`` (small-copy pixels) on ``fine``."""
    f = fine.shape[1] / small_width
    x0, y0, x1, y1 = (round(v * f) for v in box)
    fine_region = fine[max(y0, 0) : max(y1, y0 + 2), max(x0, 0) : max(x1, x0 + 2)]
    grey = np.asarray(cv2.cvtColor(fine_region, cv2.COLOR_RGB2GRAY), np.uint8)
    _, std = cv2.meanStdDev(grey)
    variance = float(std[0, 0]) ** 2
    return _sharpness(grey, variance), _directional_sharpness(grey, variance)


def _sharpness(grey: U8, variance: float) -> float:
    """``quality.sharpness`` computed in integers, where it rounds through float32 arrays.

    ``variance`` is the grey values' (0-255; sharpness() scales both by 1/255). The
    Laplacian of the uint8 grey image is exact in int16 and the sums are taken in double:
    the same figure to ~1e-6, at a fraction of the CPU.
    """
    if variance < 1e-6 * 255.0**2:
        return 0.0
    lap = cv2.Laplacian(grey, cv2.CV_16S, ksize=3)
    return float(cv2.norm(lap, cv2.NORM_L2SQR)) / lap.size / variance


def _directional_sharpness(grey: U8, variance: float) -> float:
    """The least over four directions of the mean squared second difference over ``variance``.

    Motion blur removes detail along its direction and keeps it across, so one direction's
    second differences fall to ~0 where the Laplacian (their sum over two) need not.
    Exact in int16, like ``_sharpness``.
    """
    if variance < 1e-6 * 255.0**2:
        return 0.0
    energies = (
        float(cv2.norm(cv2.filter2D(grey, cv2.CV_16S, k), cv2.NORM_L2SQR)) for k in _SECOND_DIFF
    )
    return min(energies) / grey.size / variance


def _luminance(rgb: RGBImage) -> float:
    return min(255.0, float(np.dot(cv2.mean(rgb)[:3], _LUMA)))


def _support(side: SideLine | None) -> float:
    return 0.0 if side is None else side.support


def _offset(side: SideLine | None) -> float | None:
    return None if side is None else side.offset


def _photometry_code(
    luminance: float, glare: float, sharp: float, streak: float, cfg: CaptureConfig
) -> GuidanceCode:
    """Darkness first (it also lowers sharpness), then glare, then focus (even or streaked)."""
    if luminance < cfg.min_luminance:
        return GuidanceCode.TOO_DARK
    if glare > cfg.max_glare_fraction:
        return GuidanceCode.GLARE
    if sharp < cfg.min_sharpness or streak < cfg.min_directional_sharpness:
        return GuidanceCode.BLURRED
    return GuidanceCode.READY
