"""A side on a printed line inside the card moves out to the card's edge (``outline``).

Drawn scenes with known geometry: a pale card on a grey table, a thin printed line 20 px
inside its top edge, and the things beside a card's edge that must not pull a side out
(a shadow, a table edge, a photocopy's paper margin).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.detect.config import DetectConfig
from ekyc.detect.outline import outermost_sides
from ekyc.detect.quad import find_quad
from ekyc.types import DocumentType
from tests.ekyc.detect.cards import card_scene, corners, rgb

CFG = DetectConfig()
CARD = np.array([[300.0, 160.0], [1000.0, 160.0], [1000.0, 601.0], [300.0, 601.0]])  # ID-1
TABLE, PAPER = (205.0, 200.0, 195.0), (244.0, 243.0, 238.0)


def _draw(background=TABLE, card=PAPER, extra=None) -> np.ndarray:
    img = np.empty((720, 1280, 3), np.float32)
    img[:] = background
    if extra is not None:
        extra(img)
    x0, y0, x1, y1 = 300, 160, 1000, 601
    img[y0:y1, x0:x1] = card
    img[y0 + 20 : y0 + 22, x0 + 20 : x1 - 20] = (120.0, 120.0, 120.0)  # the printed line
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    noise = np.random.default_rng(0).normal(0.0, 1.5, img.shape).astype(np.float32)
    return np.clip(img + noise, 0, 255)


def _on_the_line() -> np.ndarray:
    quad = CARD.copy()
    quad[:2, 1] += 21.0  # the top side on the printed line
    return quad


def test_side_on_a_printed_line_moves_to_the_edge():
    moved, shifts = outermost_sides(_draw(), _on_the_line(), CFG)
    assert shifts[0] == pytest.approx(21.0, abs=1.0)
    assert shifts[1:] == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(moved, CARD, atol=1.0)
    # A uint8 shot (``quad.finish_quad`` passes a view of it) moves as its float copy does.
    shot = np.round(_draw()).astype(np.uint8)
    as_uint8 = outermost_sides(shot, _on_the_line(), CFG)
    as_float = outermost_sides(shot.astype(np.float32), _on_the_line(), CFG)
    np.testing.assert_array_equal(as_uint8[0], as_float[0])
    assert as_uint8[1] == as_float[1]


def test_side_on_the_edge_stays():
    _, shifts = outermost_sides(_draw(), CARD, CFG)
    assert shifts == (0.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    "extra",
    [
        # The card's shadow: a darker strip along the top edge, then the table.
        lambda img: img.__setitem__((slice(140, 160), slice(300, 1000)), (150.0, 146.0, 142.0)),
        # A table edge 15 px beyond the card's top edge, another surface beyond it.
        lambda img: img.__setitem__((slice(0, 145), slice(None)), (120.0, 90.0, 60.0)),
    ],
    ids=["shadow", "table-edge"],
)
def test_a_side_on_the_edge_is_not_pulled_out_by_what_lies_beside_it(extra):
    _, shifts = outermost_sides(_draw(extra=extra), CARD, CFG)
    assert shifts == (0.0, 0.0, 0.0, 0.0)


def test_a_photocopy_margin_is_background():
    # A card printed on paper: what lies beyond the card image is paper on every side.
    copy = _draw(background=PAPER, card=(230.0, 229.0, 224.0))
    _, shifts = outermost_sides(copy, CARD, CFG)
    assert shifts == (0.0, 0.0, 0.0, 0.0)


def test_white_card_on_a_pale_wall_takes_its_own_edge():
    # Generated scene: the licence frame's top line 20 px inside the faint top edge.
    sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
    found = find_quad(rgb(sc))
    assert found is not None
    assert np.abs(found.quad.corners - corners(sc)).max() < 1.0
