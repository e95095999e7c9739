"""find_card's choice among the detector's candidates, on generated scenes (truth known)."""

from __future__ import annotations

import cv2
import numpy as np

from ekyc.detect import card
from ekyc.detect.card import find_card
from ekyc.detect.config import DetectConfig
from ekyc.detect.quad import find_quad, order_corners, search_quads
from ekyc.types import DocumentType, Side
from tests.ekyc.detect.cards import card_scene, corners, layouts, rgb


def test_outline_not_the_printed_frame():
    # A white licence on a pale wall: its faint top edge and the printed frame's top line
    # 20 px inside it both look like a boundary, and the frame's quad ranks first on
    # boundary evidence and shape. Only the outline puts the layout in place.
    sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
    found = find_card(rgb(sc), layouts())
    assert found is not None
    assert (found.document_type, found.side) == (DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert np.abs(found.quad.corners - corners(sc)).max() < 2.0  # upright order, pixels


def test_alternatives_differ_from_the_choice_and_refine_near_themselves():
    sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
    image = rgb(sc)
    cfg = DetectConfig()
    search = search_quads(image, alternatives=4, config=cfg)
    assert search.best is not None
    assert 1 <= len(search.alternatives) <= 4
    near = cfg.alternative_distinct * float(np.hypot(*image.shape[:2]))
    taken = [search.best.quad.corners]
    for score, alt in search.alternatives:
        assert 0.0 < score <= 1.0
        gaps = [min(np.abs(alt - np.roll(t, k, 0)).max() for k in (0, 2)) for t in taken]
        assert min(gaps) >= near / np.sqrt(2)  # max |dx|, |dy| of a corner >= distance / sqrt 2
        taken.append(alt)
        # In ``order_corners`` order, as the layout reads take them.
        size = (image.shape[1], image.shape[0])
        np.testing.assert_array_equal(order_corners(alt, size, cfg), alt)
        refined = search.refine(alt, score)
        if refined is not None:  # a rough candidate moves by a few pixels, never jumps
            assert np.abs(refined.quad.corners - alt).max() < 0.03 * image.shape[1]


def test_without_alternatives_the_search_is_find_quad():
    sc = card_scene("tilt", DocumentType.MY_NUMBER_CARD, 4)
    search = search_quads(rgb(sc))
    alone = find_quad(rgb(sc))
    assert search.alternatives == ()
    assert search.best is not None
    assert alone is not None
    np.testing.assert_array_equal(search.best.quad.corners, alone.quad.corners)


def test_a_quad_with_no_layout_is_realigned_unless_switched_off(monkeypatch):
    # The selfie's My Number back check turns it off (ekyc.stages.selfie): a blank
    # card-shaped sheet reads no layout, so find_card moves its sides, or with
    # realign_unread=False does not, and finds the same unread quad either way. Moved
    # twice: the search's quad, then the learned proposal's, which the last resort reads
    # and aligns as well when it reads nothing.
    image = np.full((720, 1280, 3), (90, 110, 140), np.uint8)
    sheet = np.array([[400, 200], [856, 200], [856, 488], [400, 488]], np.int32)
    cv2.fillConvexPoly(image, sheet, (235, 235, 230))
    calls: list[int] = []
    realign = card._realign

    def counted(*args, **kwargs):
        calls.append(1)
        return realign(*args, **kwargs)

    monkeypatch.setattr(card, "_realign", counted)
    found = find_card(image, layouts())
    assert found is not None
    assert found.document_type is None
    assert len(calls) == 2
    kept = find_card(image, layouts(), config=DetectConfig(realign_unread=False))
    assert len(calls) == 2
    assert kept is not None
    assert kept.document_type is None
    np.testing.assert_allclose(kept.quad.corners, found.quad.corners)
