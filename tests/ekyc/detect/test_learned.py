"""The learned corner proposer (``ekyc.detect.learned``) and ``find_card``'s use of it."""

from __future__ import annotations

import numpy as np
import pytest

from ekyc.detect.card import find_card, learned_card
from ekyc.detect.config import DetectConfig
from ekyc.detect.learned import CORNER_MODEL, default_proposer
from ekyc.registry import Registry
from ekyc.types import DocumentType, Side
from tests.ekyc.detect.cards import card_scene, corners, layouts, rgb


def _unordered_error_px(found: np.ndarray, truth: np.ndarray) -> float:
    """Largest corner distance under the best of the quad's 8 cyclic orders."""
    quads = [np.roll(q, r, axis=0) for q in (found, found[::-1]) for r in range(4)]
    return min(float(np.linalg.norm(q - truth, axis=1).max()) for q in quads)


def test_the_shipped_model_matches_its_manifest_entry():
    registry = Registry.from_manifest()
    assert registry.path(CORNER_MODEL).is_file()  # size and sha256 checked
    assert default_proposer() is not None


@pytest.mark.parametrize(
    ("doc", "seed"), [(DocumentType.MY_NUMBER_CARD, 3), (DocumentType.RESIDENCE_CARD, 3)]
)
def test_a_clean_shot_is_proposed_within_the_refinements_reach_and_kept(doc, seed):
    sc = card_scene("front", doc, seed)
    proposer = default_proposer()
    assert proposer is not None
    proposal = proposer.propose(rgb(sc))
    assert proposal is not None
    assert proposal.clear
    # The side refinement searches search_fraction x the frame's long side around each side.
    reach = DetectConfig().search_fraction * 1280
    assert _unordered_error_px(proposal.corners, corners(sc).astype(np.float64)) < reach
    kept = learned_card(rgb(sc), layouts())
    assert kept is not None
    assert (kept.document_type, kept.side) == (doc, Side.FRONT)
    found = find_card(rgb(sc), layouts())
    assert found is not None
    np.testing.assert_array_equal(found.quad.corners, kept.quad.corners)
    classical = find_card(rgb(sc), layouts(), learned=False)
    assert classical is not None
    # The same refinement and finish from another start: the classical search's corners.
    np.testing.assert_allclose(found.quad.corners, classical.quad.corners, atol=0.1)
    assert abs(found.layout_score - classical.layout_score) < 0.01


def test_no_card_no_proposal_and_no_detection():
    blank = np.full((720, 1280, 3), 128, np.uint8)
    proposer = default_proposer()
    assert proposer is not None
    proposal = proposer.propose(blank)
    assert proposal is None or not proposal.clear
    assert learned_card(blank, layouts()) is None
    assert find_card(blank, layouts()) is None


def test_a_shot_that_is_not_16_by_9_gets_no_proposal():
    proposer = default_proposer()
    assert proposer is not None
    square = np.asarray(rgb(card_scene("front", DocumentType.MY_NUMBER_CARD, 3)))[:, :720]
    assert proposer.propose(square) is None


def test_without_the_model_find_card_runs_the_classical_search(monkeypatch):
    sc = card_scene("front", DocumentType.MY_NUMBER_CARD, 8)
    monkeypatch.setattr("ekyc.detect.card.default_proposer", lambda: None)
    assert learned_card(rgb(sc), layouts()) is None
    found = find_card(rgb(sc), layouts())
    classical = find_card(rgb(sc), layouts(), learned=False)
    assert found is not None
    assert classical is not None
    np.testing.assert_array_equal(found.quad.corners, classical.quad.corners)
