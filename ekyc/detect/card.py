"""``find_card``: locate the card, recognise its layout, and put its corners upright."""

from __future__ import annotations

import numpy as np

from ekyc.detect.classify import LayoutMatch, classify_layout
from ekyc.detect.config import DetectConfig
from ekyc.detect.layouts import CardLayouts
from ekyc.detect.quad import find_quad
from ekyc.detect.rectify import rectify
from ekyc.types import AspectPrior, CardDetection, CardQuad, Frame, RGBImage, Side

__all__ = ["find_card", "recognise"]

# Rectify at 4x the templates' resolution, then let classification shrink it with area
# sampling: a direct low-resolution warp would alias fine print into false structure.
_OVERSAMPLE = 4.0


def recognise(image: Frame | RGBImage, quad: CardQuad, layouts: CardLayouts) -> LayoutMatch:
    """Classify the layout inside ``quad`` (any corner order up to a 180-degree turn)."""
    card = rectify(image, quad, px_per_mm=layouts.px_per_mm * _OVERSAMPLE)
    return classify_layout(card.image, layouts)


def find_card(
    image: Frame | RGBImage,
    layouts: CardLayouts,
    aspect: AspectPrior = AspectPrior.ID1,
    config: DetectConfig | None = None,
) -> CardDetection | None:
    """Find the card, say which document and side it is, with corners TL, TR, BR, BL upright.

    Args:
        image: The shot.
        layouts: Loaded layout templates (``CardLayouts.from_registry``), loaded once.
        aspect: Shape prior; with anything but ID-1 no layout is recognised (A4 documents).
        config: Detector parameters.

    Returns:
        The detection, or None when no card-shaped outline was found. An outline whose
        layout is not recognised is returned with ``document_type=None``.
    """
    found = find_quad(image, aspect, config)
    if found is None:
        return None
    if aspect is not AspectPrior.ID1:
        return CardDetection(found.quad, found.cut_by_border, None, Side.UNKNOWN, 0.0)
    match = recognise(image, found.quad, layouts)
    corners = found.quad.corners
    if match.upside_down:
        corners = np.ascontiguousarray(np.roll(corners, 2, axis=0))
    return CardDetection(
        quad=CardQuad(corners, found.quad.score),
        cut_by_border=found.cut_by_border,
        document_type=match.document_type,
        side=match.side,
        layout_score=match.score,
    )
