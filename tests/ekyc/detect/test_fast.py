"""``find_card``'s fast path (``ekyc.detect.fast``) against the full search, truth known."""

from __future__ import annotations

import numpy as np
import pytest

from ekyc.detect import fast
from ekyc.detect.card import find_card
from ekyc.detect.config import DetectConfig
from ekyc.detect.fast import fast_card, fast_read
from ekyc.types import DocumentType, Side
from tests.ekyc.detect import scenes
from tests.ekyc.detect.cards import card_scene, corners, layouts, rgb

FULL = DetectConfig(fast_path=False)
FAST = DetectConfig(fast_path=True)


@pytest.mark.parametrize(
    ("doc", "seed"),
    [(DocumentType.MY_NUMBER_CARD, 3), (DocumentType.MY_NUMBER_CARD, 8),
     (DocumentType.RESIDENCE_CARD, 3)],
)  # fmt: skip
def test_a_clean_shot_kept_by_the_fast_path_is_the_full_search_result(doc, seed):
    sc = card_scene("front", doc, seed)
    quick = fast_card(rgb(sc), layouts())
    full = find_card(rgb(sc), layouts(), config=FULL)
    assert quick is not None
    assert full is not None
    assert (quick.document_type, quick.side) == (full.document_type, full.side) == (doc, Side.FRONT)
    assert quick.cut_by_border is full.cut_by_border is False
    np.testing.assert_allclose(quick.quad.corners, full.quad.corners, atol=0.1)  # upright order
    assert np.abs(quick.quad.corners - corners(sc)).max() < 0.5
    assert abs(quick.layout_score - full.layout_score) < 0.01  # read at 2x, not 4x
    # find_card with the fast path on returns what the fast path kept.
    kept = find_card(rgb(sc), layouts(), config=FAST)
    assert kept is not None
    np.testing.assert_array_equal(kept.quad.corners, quick.quad.corners)


def test_a_printed_frame_taken_for_the_outline_goes_to_the_full_search():
    # A white licence on a pale wall: the printed frame 20 px inside its faint top edge
    # makes the closed outline the fast path starts from. It must not keep that quad; the
    # full search (runners-up read for their layout) finds the card.
    sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
    read = fast_read(rgb(sc), layouts())
    assert not read.accepted
    assert read.reason
    found = find_card(rgb(sc), layouts(), config=FAST)
    assert found is not None
    assert (found.document_type, found.side) == (DocumentType.DRIVERS_LICENSE, Side.FRONT)
    assert np.abs(found.quad.corners - corners(sc)).max() < 2.0
    full = find_card(rgb(sc), layouts(), config=FULL)
    assert full is not None
    np.testing.assert_array_equal(found.quad.corners, full.quad.corners)


def test_a_card_cut_by_the_border_goes_to_the_full_search(monkeypatch):
    sc = scenes.shifted("front", 4, 0.35)
    assert fast_card(rgb(sc), layouts()) is None
    calls = []
    real = fast.fast_card

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("ekyc.detect.card.fast_card", counted)
    found = find_card(rgb(sc), layouts(), config=FAST)
    full = find_card(rgb(sc), layouts(), config=FULL)
    assert calls == [1]  # tried once, with the full search after it
    assert (found is None) == (full is None)
    if found is not None and full is not None:
        np.testing.assert_array_equal(found.quad.corners, full.quad.corners)
        assert found.cut_by_border


def test_no_card_no_fast_detection():
    blank = np.full((720, 1280, 3), 128, np.uint8)
    read = fast_read(blank, layouts())
    assert read.detection is None
    assert not read.accepted
    assert find_card(blank, layouts(), config=FAST) is None
