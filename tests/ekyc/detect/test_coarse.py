"""Rough layout reads (``ekyc.detect.coarse``) agree with full reads where it matters."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.detect.card import _recognise, recognise
from ekyc.detect.coarse import CoarseReader
from ekyc.types import CardQuad, DocumentType, Side
from tests.ekyc.detect.cards import card_scene, corners, layouts, rgb

CLASSES = [
    (DocumentType.DRIVERS_LICENSE, Side.FRONT),
    (DocumentType.MY_NUMBER_CARD, Side.BACK),
    (DocumentType.RESIDENCE_CARD, Side.FRONT),
    (DocumentType.HEALTH_INSURANCE_CARD, Side.BACK),
]


class TestCoarseReader:
    @pytest.mark.parametrize(("doc", "side"), CLASSES)
    def test_known_values(self, doc, side):
        sc = card_scene("back" if side is Side.BACK else "tilt", doc, 12, clean=False)
        reader = CoarseReader(rgb(sc), layouts())
        upright = reader.read(corners(sc))
        assert (upright.document_type, upright.side, upright.upside_down) == (doc, side, False)
        turned = reader.read(np.roll(corners(sc), 2, axis=0))
        assert (turned.document_type, turned.side, turned.upside_down) == (doc, side, True)
        # ``scores``: the correlations the read decides on, every class upright then turned.
        scores = reader.scores(corners(sc))
        classes = layouts().classes
        assert scores.shape == (2 * len(classes),)
        assert float(scores[classes.index((doc, side))]) == pytest.approx(upright.score, abs=1e-6)
        # Same scale as the full read: a runner-up is compared with the first choice's
        # rough read, and both must come out near their full reads.
        full = recognise(rgb(sc), CardQuad(corners(sc), 1.0), layouts())
        assert abs(upright.score - full.score) < 0.05

    def test_a_shifted_quad_reads_worse(self):
        # What the runner-up check relies on: the card's own outline reads best.
        sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
        reader = CoarseReader(rgb(sc), layouts())
        right = reader.read(corners(sc))
        inset = corners(sc) + np.array([[30, 20], [-30, 20], [-30, -20], [30, -20]], np.float32)
        assert reader.read(inset).score < right.score - 0.1

    def test_a_non_card_is_unknown(self):
        sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
        table = np.array([[10, 10], [330, 10], [330, 200], [10, 200]], np.float32)
        match = CoarseReader(rgb(sc), layouts()).read(table)
        assert match.document_type is None
        assert match.side is Side.UNKNOWN


class TestHalvedFullRead:
    """``find_card``'s full reads warp the halved shot when it holds the templates' detail."""

    @pytest.mark.parametrize(("doc", "side"), CLASSES)
    def test_same_decision_as_the_shot(self, doc, side):
        sc = card_scene("back" if side is Side.BACK else "tilt", doc, 12, clean=False)
        quad = CardQuad(corners(sc), 1.0)
        assert _px_per_mm(quad) >= 4.0
        full = recognise(rgb(sc), quad, layouts())
        halved = _recognise(CoarseReader(rgb(sc), layouts()), quad, layouts())
        assert (halved.document_type, halved.side, halved.upside_down) == (doc, side, False)
        assert abs(halved.score - full.score) < 0.02

    def test_a_small_card_is_read_in_the_shot(self):
        # Under 4 px/mm the halved shot would hold less than the templates' 2 px/mm: the
        # read is then the shot's own, value for value.
        sc = card_scene("front", DocumentType.DRIVERS_LICENSE, 3)
        small = cv2.resize(rgb(sc), None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
        quad = CardQuad(corners(sc) * 0.4, 1.0)
        assert _px_per_mm(quad) < 4.0
        full = recognise(small, quad, layouts())
        assert _recognise(CoarseReader(small, layouts()), quad, layouts()) == full


def _px_per_mm(quad: CardQuad) -> float:
    return float(np.sqrt(abs(cv2.contourArea(quad.corners)) / (85.6 * 53.98)))
