"""Whether two shots show the same card: the tilted shot against the front, for instance.

Two cards of one type share their whole printed layout, so comparing the shots directly
would call any two driver's licences "the same". Both shots are first projected off their
class's mean layout (``CardLayouts``): what is left is the personal part (name, numbers,
portrait, dates). The two residuals are then correlated. A card of another person leaves a
different residual; the same card seen from another angle leaves the same one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ekyc.detect.layouts import CardLayouts, layout_features
from ekyc.types import DocumentType, RGBImage, SameCardCheck, Side

__all__ = ["SAME_CARD_THRESHOLD", "compare_cards", "personal_residual"]

# Chosen on 622 pairs of fully visible front/tilted shots (synthetic sessions, seed 303,
# LFW portraits): 99.6 % of same-card pairs >= 0.67, 98.9 % of other-person pairs below.
SAME_CARD_THRESHOLD = 0.67
_TILES = (4, 3)  # columns, rows
_DROP_WORST = 2


def personal_residual(
    card: RGBImage, layouts: CardLayouts, document_type: DocumentType, side: Side
) -> npt.NDArray[np.float32]:
    """The card's band-passed features off the class's layout, where people differ.

    The projection on the mean layout is removed, then what is left is weighted by the
    class's ``personal`` map, so the fixed print (labels, frames) cannot make two different
    people's cards look alike.
    """
    query = layout_features(card, layouts.size_px)
    index = layouts.classes.index((document_type, side))
    template = layouts.features[index]
    coeff = np.einsum("hwk,hwk->k", query, template)  # per channel; templates are unit-norm
    residual = (query - template * coeff) * layouts.personal[index][:, :, None]
    norms = np.sqrt(np.einsum("hwk,hwk->k", residual, residual))
    return np.asarray(residual / np.maximum(norms, 1e-6), dtype=np.float32)


def compare_cards(
    card_a: RGBImage,
    card_b: RGBImage,
    layouts: CardLayouts,
    *,
    type_a: tuple[DocumentType, Side] | None,
    type_b: tuple[DocumentType, Side] | None,
    threshold: float = SAME_CARD_THRESHOLD,
) -> SameCardCheck:
    """Compare two upright rectified shots of the same face of a card.

    Args:
        card_a: Rectified card image (e.g. the front shot).
        card_b: Rectified card image (e.g. the tilted shot).
        layouts: The loaded layout templates.
        type_a: Recognised (type, side) of ``card_a``; None when unknown.
        type_b: Recognised (type, side) of ``card_b``; None when unknown.
        threshold: Residual correlation at or above which the shots count as one card.

    Returns:
        The check; an unknown or differing layout is never "the same card".
    """
    agree = type_a is not None and type_a == type_b
    if not agree or type_a is None:
        return SameCardCheck(
            similarity=0.0, threshold=threshold, same=False, document_types_agree=False
        )
    doc, side = type_a
    res_a = personal_residual(card_a, layouts, doc, side)
    res_b = personal_residual(card_b, layouts, doc, side)
    similarity = _tile_correlation(res_a, res_b)
    return SameCardCheck(
        similarity=similarity,
        threshold=threshold,
        same=similarity >= threshold,
        document_types_agree=True,
    )


def _tile_correlation(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Mean correlation of the 4 x 3 tiles, leaving out the two worst.

    A finger or a glare spot over a tile or two cannot decide the outcome, while the
    portrait's tiles (the most telling) still count; a plain median would drop them.
    """
    height, width = a.shape[:2]
    values = []
    for row in range(_TILES[1]):
        for col in range(_TILES[0]):
            rows = slice(row * height // _TILES[1], (row + 1) * height // _TILES[1])
            cols = slice(col * width // _TILES[0], (col + 1) * width // _TILES[0])
            ta = a[rows, cols].ravel() - a[rows, cols].mean()
            tb = b[rows, cols].ravel() - b[rows, cols].mean()
            denom = float(np.sqrt(np.dot(ta, ta) * np.dot(tb, tb)))
            values.append(float(np.dot(ta, tb)) / denom if denom > 1e-12 else 0.0)
    return float(np.mean(sorted(values)[_DROP_WORST:]))
