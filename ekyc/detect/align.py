"""Move a quad's sides until the card's printed layout sits in place.

Where a card's own edge is faint (a white card on a pale table: ~1.5 grey levels per
pixel across it, below what the edge detector keeps), the detector can settle on the
strongest rectangle it sees instead: a printed frame a few millimetres inside the card
(the licence's back), or three sides of the card and a printed line for the fourth. The
layout inside such a quad is shifted and squeezed, so ``classify_layout`` recognises
nothing, although the card is right there.

The layout itself then locates the card. The quad's neighbourhood is warped once onto a
canvas in card millimetres (the quad's own homography, ``reach_mm`` of margin around it);
moving one side of the quad parallel to itself *in the card's plane* is then an
axis-aligned crop of that canvas, so each hypothesis costs a crop and the classifier's
small correlation, not a warp of the frame. Coordinate ascent over the four sides'
offsets maximises the best class's correlation.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.layouts import CardLayouts, band_pass
from ekyc.detect.rectify import ID1_SIZE_MM
from ekyc.types import Frame, RGBImage

__all__ = ["align_to_layout"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
_CANVAS_PX_PER_MM = 2.0  # canvas resolution; hypotheses are read at half of it
# Directions of the search over the side offsets (top, right, bottom, left): each side,
# all four (scale), opposite pairs (stretch), and shifts.
_DIRECTIONS = (
    (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 1, 1),
    (1, 0, 1, 0), (0, 1, 0, 1), (1, 0, -1, 0), (0, 1, 0, -1),
)  # fmt: skip
_COARSE_MM = (-3.0, -2.0, -1.0, 1.0, 2.0, 3.0)
_FINE_MM = (-0.5, 0.5)
_MIN_GAIN = 0.01  # the right class's correlation moves ~0.01 between renders
_REFS: dict[int, tuple[CardLayouts, F32, tuple[int, int]]] = {}


def align_to_layout(
    image: Frame | RGBImage,
    corners: F32,
    layouts: CardLayouts,
    *,
    reach_mm: float = 4.0,
    rounds: int = 3,
) -> tuple[F32, float]:
    """The quad with its sides moved (within ``reach_mm``) to fit the best layout.

    Args:
        image: The shot.
        corners: ``(4, 2)`` corners, the long side first (``quad.order_corners``), either
            way up.
        layouts: Templates to correlate with (a coarse set is enough and cheaper).
        reach_mm: How far each side may move, in card millimetres, either way.
        rounds: Most passes over the search directions, per step size.

    Returns:
        The moved corners (same order) and the best class's correlation inside them
        (``classify_layout`` reads the layout of the result).
    """
    rgb = image.image if isinstance(image, Frame) else image
    width_mm, height_mm = ID1_SIZE_MM
    refs, size_px = _references(layouts)
    ppm = _CANVAS_PX_PER_MM
    # Card millimetres -> image pixels, from the quad taken as the card.
    card = np.array(
        [[0, 0], [width_mm, 0], [width_mm, height_mm], [0, height_mm]], dtype=np.float32
    )
    to_image = cv2.getPerspectiveTransform(card, np.asarray(corners, np.float32))
    # Canvas pixel centre (u, v) -> card mm ((u + 0.5) / ppm - reach, ...).
    to_card = np.array(
        [[1 / ppm, 0, 0.5 / ppm - reach_mm], [0, 1 / ppm, 0.5 / ppm - reach_mm], [0, 0, 1]]
    )
    size = (round((width_mm + 2 * reach_mm) * ppm), round((height_mm + 2 * reach_mm) * ppm))
    # The image is sampled at pixel centres (OpenCV's convention), as ``rectify`` does.
    shift = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]])
    canvas = cv2.warpPerspective(
        rgb,
        shift @ to_image @ to_card,
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    # The templates' band-pass, once for the whole canvas (its sigmas in card mm).
    feats = band_pass(np.asarray(canvas, dtype=np.float32), 1.0 / layouts.px_per_mm * ppm)
    offset = [0.0, 0.0, 0.0, 0.0]  # outwards: top, right, bottom, left
    cache: dict[tuple[int, ...], float] = {}

    def score(off: list[float]) -> float:
        top, right, bottom, left = off
        key = (round(top * 4), round(right * 4), round(bottom * 4), round(left * 4))
        value = cache.get(key)
        if value is None:
            x0 = round((reach_mm - left) * ppm)
            x1 = round((reach_mm + width_mm + right) * ppm)
            y0 = round((reach_mm - top) * ppm)
            y1 = round((reach_mm + height_mm + bottom) * ppm)
            crop = cv2.resize(feats[y0:y1, x0:x1], size_px, interpolation=cv2.INTER_AREA)
            value = cache[key] = _correlation(refs, np.asarray(crop, np.float32))
        return value

    best = score(offset)
    # Coordinate ascent along single sides and joint moves (a printed frame inside the
    # card is the card scaled down: no single side gains much until the others move too);
    # whole-millimetre steps first, then half steps.
    # A pass that gains less than the correlation's render-to-render noise ends a step size.
    for steps in (_COARSE_MM, _FINE_MM):
        for _ in range(rounds):
            before = best
            for direction in _DIRECTIONS:
                start = offset
                for step in steps:
                    # min/max, not np.clip: the same floats without numpy's per-call
                    # overhead (~6 % of find_card's CPU on seed 4242, under cProfile).
                    trial = [min(max(o + step * d, -reach_mm), reach_mm)
                             for o, d in zip(start, direction, strict=True)]  # fmt: skip
                    value = score(trial)
                    if value > best + 1e-6:
                        best, offset = value, trial
            if best < before + _MIN_GAIN:
                break
    top, right, bottom, left = offset
    rect = np.array(
        [
            [-left, -top],
            [width_mm + right, -top],
            [width_mm + right, height_mm + bottom],
            [-left, height_mm + bottom],
        ],
        dtype=np.float64,
    )
    moved_corners = cv2.perspectiveTransform(rect[None], to_image)[0]
    return np.asarray(moved_corners, dtype=np.float32), best


def _normalised(feats: F32) -> F32:
    """Per channel: zero mean, unit norm (as ``layout_features``)."""
    flat = feats.reshape(-1, 3) - np.asarray(cv2.mean(feats)[:3], np.float32)
    norms = np.sqrt(np.einsum("nk,nk->k", flat, flat))
    return np.asarray(flat / np.maximum(norms, 1e-6), dtype=np.float32)


def _correlation(refs: F32, crop: F32) -> float:
    """The best row's correlation with ``crop``, as ``classify_layout`` scores a class.

    The rows are zero-mean and unit-norm per channel, so the crop's channel means drop
    out of the dot products and only its norms (about the mean) divide them: a few small
    matrix products instead of normalising the crop first.
    """
    pixels = np.ascontiguousarray(crop.reshape(-1, 3).T)  # (3, n)
    n = pixels.shape[1]
    total = pixels.sum(axis=1)
    spread = np.einsum("kn,kn->k", pixels, pixels) - total * total / n
    norms = np.sqrt(np.maximum(spread, 1e-12))
    dots = np.einsum("krn,kn->kr", refs, pixels)  # (3, rows); BLAS would wake its threads
    return float((dots / norms[:, None]).sum(axis=0).max()) / 3.0


def _references(layouts: CardLayouts) -> tuple[F32, tuple[int, int]]:
    """Every template's features at ``_CANVAS_PX_PER_MM / 2``, both ways up, per channel.

    Returns ``(3, 2 * classes, pixels)``: channel, template (upright, turned), pixel.
    """
    cached = _REFS.get(id(layouts))
    if cached is not None and cached[0] is layouts:
        return cached[1], cached[2]
    width, height = layouts.size_px
    scale = _CANVAS_PX_PER_MM / 2 / layouts.px_per_mm
    size = (round(width * scale), round(height * scale))
    rows = []
    for feats in layouts.features:
        small = cv2.resize(feats, size, interpolation=cv2.INTER_AREA)
        rows += [_normalised(small).reshape(-1), _normalised(small[::-1, ::-1]).reshape(-1)]
    stacked = np.stack(rows).reshape(len(rows), -1, 3)
    refs = np.ascontiguousarray(stacked.transpose(2, 0, 1), dtype=np.float32)
    if len(_REFS) >= 4:  # a process loads one set; tests load a few
        _REFS.pop(next(iter(_REFS)))
    _REFS[id(layouts)] = (layouts, refs, size)  # keeps ``layouts`` alive: its id stays its own
    return refs, size
