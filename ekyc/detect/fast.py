"""``find_card``'s fast path: one candidate, refined and read once, kept on strong evidence.

An easy shot is a card fully in frame whose outline closes against the background. For
such a shot the full search (``quad.search_quads``: two edge maps, line quads, two
refinements, runner-up layout reads, realignment) spends ~50-100 ms CPU confirming what
one candidate already shows. The fast path does only what such a shot needs:

1. a working copy at ``FAST_SIDE_PX`` by ``cv2.pyrDown`` alone (1280x720 -> 320x180), its
   colour gradient, and the closed outlines of its edge maps (``candidates.candidate_quads``
   without the line quads), ranked as the full search ranks them; the best one is read
   roughly (``coarse``, 1 px/mm), and one showing no layout ends the fast path there;
2. that candidate refined at full resolution as the full search refines it (two line
   fits, sampled from the uint8 shot in thin boxes along each side), corners ordered.
   It makes no outline or side-face move (``quad.finish_quad``): a shot that might need
   one (an edge outside a side, a side face predicted) is left to the full search;
3. one layout read of the final quad, at 2x the templates' resolution.

The result is returned only when the evidence is strong (``fast_read``'s checks): every
side fitted with ``FAST_MIN_SUPPORT`` of its profiles on the line and an edge of
``FAST_MIN_STRENGTH``, the card in frame, no side face predicted (a tilted card: the full
search moves sides onto the printed face), no edge parallel to a side outside it, and a
layout read of ``FAST_MIN_LAYOUT`` that beats every other class and orientation by
``FAST_MIN_MARGIN``. Otherwise ``fast_card`` returns None and ``find_card`` runs the full
search: a finger over an edge, a faint outline, a printed panel sharing sides with the
card, a card cut by the border.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from ekyc.detect.candidates import WorkingImage, clockwise
from ekyc.detect.classify import LayoutMatch, classify_layout
from ekyc.detect.coarse import CoarseReader
from ekyc.detect.config import DetectConfig
from ekyc.detect.edges import sample_profiles
from ekyc.detect.layouts import CardLayouts
from ekyc.detect.plane import focal_px
from ekyc.detect.quad import (
    colour_gradient,
    cut_by_border,
    order_corners,
    ranked_candidates,
    refine_sides,
)
from ekyc.detect.rectify import ID1_SIZE_MM, rectify
from ekyc.detect.thickness import side_face_widths
from ekyc.types import AspectPrior, CardDetection, CardQuad, Frame, RGBImage

__all__ = [
    "FAST_MIN_LAYOUT",
    "FAST_MIN_MARGIN",
    "FAST_MIN_STRENGTH",
    "FAST_MIN_SUPPORT",
    "FastRead",
    "fast_card",
    "fast_read",
    "verify_proposal",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# Longer side of the working copy, reached by halving alone (pyrDown: ~0.3 ms a halving at
# 1280x720, where an area resize to 384 costs ~1.3 ms more).
FAST_SIDE_PX = 320
# Every side needs this share of its profiles on the fitted line (a finger, glare or a
# background edge crossing the side lowers it).
FAST_MIN_SUPPORT = 0.8
# ... and an edge of this many grey levels per pixel (its inliers' median colour-gradient
# peak, ``EdgeFit.strength``): a faint side (a white card on pale paper) lets the fit
# wander onto its shadow or the print near it, which the full search's line quads and
# outline move handle. Clean card edges measure 11-98 on the dev scenes (seeds 5151, 7777);
# kept quads 1-12 px off the full search's had a side at 3-5 (seed 5151 #3, and seed
# 4242 #3 and #36, seen while choosing it: 4242's figures are not blind to it).
FAST_MIN_STRENGTH = 10.0
# The layout read of the final quad must reach this (the full search reads runners-up
# below ``DetectConfig.layout_confident`` and realigns below ``layout_realign_below``) ...
FAST_MIN_LAYOUT = 0.75
# ... and beat the best other class, and its own other orientation, by this much.
FAST_MIN_MARGIN = 0.3
# No side may have an edge parallel to it outside (``_outer_edge``). A printed panel or
# frame inside the card, taken for a side while the other three lie on the card's edge,
# has the card's edge beyond it, as strong as the other sides': within ``FAST_OUTER_MM``
# (mm on the card), no edge may reach ``FAST_OUTER_RATIO`` of the side's own.
FAST_OUTER_MM = 12.0
FAST_OUTER_RATIO = 0.35
# A faint card edge a little outside a printed line is what ``outline.outermost_sides``
# moves a side out to in the full search (``outline_search_mm``: 4 mm); the fast path
# makes no such move, it leaves a shot with any edge there of this many grey levels per
# pixel (the median profile's gradient) to the full search.
FAST_NEAR_GRADIENT = 3.0
_OUTER_FROM_PX = 6.0  # beyond the side's own edge, blurred
_OUTER_PROFILES = 32
# The rough read of the rough quad (``coarse``: ~0.02 from a full read on the right quad)
# may fall this much below ``FAST_MIN_LAYOUT`` (the rough quad is a few pixels off).
_COARSE_SLACK = 0.1
# The read warps the quad at this multiple of the templates' 2 px/mm, then area-averages.
_OVERSAMPLE = 2


@dataclass(frozen=True, slots=True)
class FastRead:
    """What the fast path saw, kept or not (``fast_card(..., explain=True)``).

    Attributes:
        detection: The detection it would return, or None when it found no quad.
        supports: Per side, the share of profiles on the fitted line (0: no fit).
        accepted: The evidence passed every check; ``find_card`` returns ``detection``.
        reason: Why not, when not accepted ("" when accepted).
    """

    detection: CardDetection | None
    supports: tuple[float, float, float, float]
    accepted: bool
    reason: str


def fast_card(
    image: Frame | RGBImage, layouts: CardLayouts, config: DetectConfig | None = None
) -> CardDetection | None:
    """The card, when one candidate alone shows it beyond doubt; None to run the full search.

    Args:
        image: The shot.
        layouts: Loaded layout templates.
        config: Detector parameters (those of the full search's candidates and refinement).

    Returns:
        A detection as ``find_card`` makes it (corners upright, type and side read), or None.
    """
    read = fast_read(image, layouts, config)
    return read.detection if read.accepted else None


def fast_read(
    image: Frame | RGBImage, layouts: CardLayouts, config: DetectConfig | None = None
) -> FastRead:
    """``fast_card``'s work and verdict (what it found, and why it was not kept).

    The best closed outline goes through ``verify_proposal``.
    """
    cfg = config or DetectConfig()
    rgb = image.image if isinstance(image, Frame) else image
    work = _working_image(rgb, cfg)
    ranked = ranked_candidates(work, AspectPrior.ID1, cfg)
    if not ranked:
        return FastRead(None, (0.0, 0.0, 0.0, 0.0), False, "no closed outline")
    _, score, rough = ranked[0]
    return verify_proposal(image, rough / work.scale, score, layouts, cfg, work.half)


def verify_proposal(
    image: Frame | RGBImage, rough: F64, score: float, layouts: CardLayouts,
    config: DetectConfig | None = None, half: RGBImage | None = None,
) -> FastRead:  # fmt: skip
    """The fast path's checks on one rough quad (shot pixels) from any candidate source.

    ``score`` is the candidate's boundary evidence x shape (``quad.ranked_candidates``);
    ``half`` the shot halved by ``cv2.pyrDown`` when the caller has it. The checks run
    cheapest first, and the first that fails ends the work (``FastRead.reason``).
    """
    cfg = config or DetectConfig()
    rgb = image.image if isinstance(image, Frame) else image
    size = (int(rgb.shape[1]), int(rgb.shape[0]))
    none = (0.0, 0.0, 0.0, 0.0)
    # A rough read of the rough quad first (~0.6 ms): most quads the fast path cannot keep
    # show no layout, and end here before the refinement.
    reader = CoarseReader(image, layouts, half)
    coarse = reader.read(order_corners(rough, size, cfg))
    if coarse.document_type is None or coarse.score < FAST_MIN_LAYOUT - _COARSE_SLACK:
        return FastRead(None, none, False, "no layout in the first candidate")
    refined = refine_sides(rgb, rough, cfg)
    if refined is None:
        return FastRead(None, none, False, "sides not fitted")
    fits, corners = refined
    supports = _four(tuple(0.0 if f is None else f.support for f in fits))
    confidence = min(1.0, sum(supports) / 4.0 * score)
    if min(supports) < FAST_MIN_SUPPORT or confidence < cfg.min_score:
        return FastRead(None, supports, False, "a side with weak support")
    if min(0.0 if f is None else f.strength for f in fits) < FAST_MIN_STRENGTH:
        return FastRead(None, supports, False, "a faint side")
    ordered = order_corners(corners, size, cfg)
    if cut_by_border(ordered, size, cfg.border_margin_px):
        return FastRead(None, supports, False, "cut by the border")
    exif = image.metadata.focal_length_35mm if isinstance(image, Frame) else None
    f_px = focal_px(size, exif if exif is not None else cfg.prior_focal_35mm)
    if side_face_widths(ordered, size, f_px, cfg).max() >= cfg.min_band_px:
        return FastRead(None, supports, False, "tilted: a side face may show")
    if _outer_edge(rgb, ordered, cfg) >= 1.0:
        return FastRead(None, supports, False, "an edge outside a side")
    match = _read(rgb, CardQuad(ordered, confidence), layouts)
    quad = np.ascontiguousarray(np.roll(ordered, 2, axis=0)) if match.upside_down else ordered
    detection = CardDetection(
        quad=CardQuad(quad, confidence),
        cut_by_border=False,
        document_type=match.document_type,
        side=match.side,
        layout_score=match.score,
    )
    reason = _layout_doubt(match)
    return FastRead(detection, supports, not reason, reason)


def _four(values: tuple[float, ...]) -> tuple[float, float, float, float]:
    return values[0], values[1], values[2], values[3]


def _layout_doubt(match: LayoutMatch) -> str:
    """Why the layout read does not settle the quad ("" when it does)."""
    if match.document_type is None:
        return "no layout"
    if match.score < FAST_MIN_LAYOUT:
        return "weak layout"
    if match.score - match.runner_up < FAST_MIN_MARGIN:
        return "layout margin"
    return ""


def _outer_edge(rgb: RGBImage, corners: F32, cfg: DetectConfig) -> float:
    """The strongest edge parallel to a side and outside it, 1 at the fast path's limits.

    Per side, the gradient of the median colour profile across it (texture and noise
    average out of the median; an edge along the whole side does not): from
    ``_OUTER_FROM_PX`` to ``outline_search_mm`` against ``FAST_NEAR_GRADIENT``, beyond
    that to ``FAST_OUTER_MM`` against ``FAST_OUTER_RATIO`` of the side's own edge.
    """
    quad = clockwise(np.asarray(corners, dtype=np.float64))
    length = np.linalg.norm(np.roll(quad, -1, axis=0) - quad, axis=1)
    px_mm = float(length.sum()) / (2.0 * (ID1_SIZE_MM[0] + ID1_SIZE_MM[1]))
    near_px = cfg.outline_search_mm * px_mm
    sparse = replace(cfg, max_profiles=_OUTER_PROFILES, profile_step_px=1.0)
    worst = 0.0
    for i in range(4):
        prof = sample_profiles(
            rgb, quad[i], quad[(i + 1) % 4], 3.0, sparse, outer=FAST_OUTER_MM * px_mm
        )
        if prof is None:
            return float("inf")  # a side out of frame: not the fast path's case
        median = np.median(prof.colour, axis=0)  # (samples, 3)
        smooth = cv2.GaussianBlur(median[:, None, :], (0, 0), sigmaX=1e-3, sigmaY=1.0)[:, 0]
        grad = np.linalg.norm(np.diff(smooth, axis=0), axis=1)
        at = prof.offsets[:-1] + 0.5
        own = float(grad[np.abs(at) <= 2.0].max())
        near = grad[(at >= _OUTER_FROM_PX) & (at <= near_px)].max(initial=0.0)
        far = grad[at > near_px].max(initial=0.0)
        worst = max(worst, float(near) / FAST_NEAR_GRADIENT, float(far) / (FAST_OUTER_RATIO * own))
    return worst


def _working_image(rgb: RGBImage, cfg: DetectConfig) -> WorkingImage:
    """The shot halved until under ``2 * FAST_SIDE_PX``, blurred, its gradient and edges.

    No lines (``WorkingImage.lines`` is empty): the fast path takes closed outlines only.
    The edge thresholds' percentiles come from every other pixel. ``half`` is the first
    halving (the rough layout reads start from it).
    """
    small, scale, half = rgb, 1.0, None
    while max(small.shape[:2]) >= 2 * FAST_SIDE_PX:
        small = np.asarray(cv2.pyrDown(small), dtype=np.uint8)
        scale /= 2.0
        half = small if half is None else half
    blur = np.asarray(cv2.GaussianBlur(small, (0, 0), cfg.blur_sigma_px), np.float32)
    gx, gy, mag = colour_gradient(blur)
    sample = mag[::2, ::2].ravel()
    ranks = [
        int(q / 100.0 * (len(sample) - 1))
        for q in (cfg.line_canny_percentile, *cfg.canny_percentiles)
    ]
    levels = np.concatenate([[0.0], np.partition(sample, ranks)[ranks]])
    dx, dy = (np.clip(g * 8.0, -32767, 32767).astype(np.int16) for g in (gx, gy))
    return WorkingImage(scale, blur, gx, gy, mag, np.empty((0, 4)), levels, dx, dy, half)


def _read(rgb: RGBImage, quad: CardQuad, layouts: CardLayouts) -> LayoutMatch:
    """``classify_layout`` of the quad warped at ``_OVERSAMPLE`` x the templates' size."""
    width, height = layouts.size_px
    size_mm = (width / layouts.px_per_mm, height / layouts.px_per_mm)
    card = rectify(rgb, quad, px_per_mm=layouts.px_per_mm * _OVERSAMPLE, size_mm=size_mm)
    small = cv2.resize(card.image, (width, height), interpolation=cv2.INTER_AREA)
    return classify_layout(np.asarray(small, dtype=np.uint8), layouts)
