"""align_to_layout: a quad on a printed frame inside the card moves out onto the card."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.detect.align import align_to_layout
from ekyc.detect.classify import classify_layout
from ekyc.detect.rectify import ID1_SIZE_MM, rectify
from ekyc.types import CardQuad, DocumentType, Side
from tests.ekyc.detect.cards import card_scene, corners, layouts, rgb


def _moved(truth: np.ndarray, top: float, right: float, bottom: float, left: float) -> np.ndarray:
    """The true quad with its sides moved outwards by these millimetres in the card's plane."""
    w, h = ID1_SIZE_MM
    card = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    to_image = cv2.getPerspectiveTransform(card, truth.astype(np.float32))
    rect = np.float32(
        [[-left, -top], [w + right, -top], [w + right, h + bottom], [-left, h + bottom]]
    )
    return np.asarray(cv2.perspectiveTransform(rect[None], to_image)[0], np.float32)


def _px_per_mm(truth: np.ndarray) -> float:
    return float(np.linalg.norm(truth[1] - truth[0])) / ID1_SIZE_MM[0]


@pytest.mark.parametrize(
    ("doc", "side", "offsets"),
    [
        (DocumentType.DRIVERS_LICENSE, "back", (-2.5, -2.0, -2.5, -2.0)),  # all four inside
        (DocumentType.RESIDENCE_CARD, "front", (0.0, 0.0, -3.0, 0.0)),  # one printed line
        (DocumentType.MY_NUMBER_CARD, "front", (1.5, 0.0, 0.0, -2.5)),  # one out, one in
    ],
)
def test_sides_off_the_card_move_back_to_it(doc: DocumentType, side: str, offsets) -> None:
    sc = card_scene("front" if side == "front" else "back", doc, 5)
    image, truth = rgb(sc), corners(sc)
    start = _moved(truth, *offsets)
    before = classify_layout(rectify(image, CardQuad(start, 1.0), px_per_mm=8.0).image, layouts())
    moved, score = align_to_layout(image, start, layouts())
    after = classify_layout(rectify(image, CardQuad(moved, 1.0), px_per_mm=8.0).image, layouts())
    assert (after.document_type, after.side) == (doc, Side(side))
    assert after.score > before.score
    assert score > 0.4
    # The layout places each side to a millimetre or two (print near the licence back's
    # right edge is sparse, so its correlation is flat there); find_card then refits the
    # sides to the card's edges, which a search of a few pixels reaches from here.
    assert np.abs(moved - truth).max() < 2.0 * _px_per_mm(truth)


def test_a_quad_on_the_card_stays():
    sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 6)
    image, truth = rgb(sc), corners(sc)
    moved, _ = align_to_layout(image, truth, layouts())
    assert np.abs(moved - truth).max() < 0.75 * _px_per_mm(truth)
