from __future__ import annotations

import csv

import numpy as np
import pytest

from ekyc.match import (
    DEFAULT_EMBEDDER,
    FaceMatcher,
    MatchConfig,
    NoFaceFound,
    calibrated_threshold,
)
from ekyc.match.compare import quality_term, zsum_members
from ekyc.types import MatchScore
from tests.ekyc.match.conftest import DLIB


def _identical(metric: str, first_norm: float = 0.0) -> float:
    """The similarity of a descriptor with itself: cosine 1, distance 0, or their z-sum.

    An adapted fusion's (``zsumq:``) also needs its first member's descriptor norm.
    """
    if metric.startswith("zsumq:"):
        (center, beta, gamma), zsum = quality_term(metric)
        z, q = _identical(zsum), first_norm - center
        return z - beta * q + gamma * q * z
    if not metric.startswith("zsum:"):
        return {"cosine": 1.0, "euclidean": 0.0}[metric]
    parts = [p.split(",") for p in metric.removeprefix("zsum:").split(";")]
    return sum((_identical(name) - float(mean)) / float(std) for name, _, mean, std in parts)


@pytest.fixture(scope="module")
def matcher(registry):
    return FaceMatcher.from_registry(registry)


@pytest.mark.models
class TestFaceMatcher:
    def test_same_image_matches(self, matcher, astronaut):
        score = matcher.match(astronaut, astronaut)
        assert score.match is True
        metric = matcher.embedder.metric
        norm = 0.0
        if metric.startswith("zsumq:"):
            first = zsum_members(quality_term(metric)[1])[0][1]
            norm = float(np.linalg.norm(matcher.embed_image(astronaut).vector[:first]))
        assert score.similarity == pytest.approx(_identical(metric, norm), abs=1e-4)
        assert score.model.id == DEFAULT_EMBEDDER
        assert score.fmr == 1e-3

    def test_a_mirrored_smaller_copy_still_matches(self, matcher, astronaut):
        import cv2

        small = cv2.resize(astronaut[:, ::-1], (256, 256), interpolation=cv2.INTER_AREA)
        assert matcher.match(astronaut, np.ascontiguousarray(small)).match is True

    def test_no_face_is_a_typed_error(self, matcher, astronaut):
        from skimage import data

        with pytest.raises(NoFaceFound) as info:
            matcher.match(astronaut, data.coffee())
        assert info.value.code == "no_face"

    def test_strict_rate_has_a_higher_threshold(self, registry):
        default = FaceMatcher.from_registry(registry, DLIB)
        strict = FaceMatcher.from_registry(registry, DLIB, MatchConfig(fmr=1e-4))
        assert strict.threshold > default.threshold
        with pytest.raises(ValueError, match="no threshold calibrated"):
            FaceMatcher.from_registry(registry, DLIB, MatchConfig(fmr=0.5))

    @pytest.mark.parametrize("model_id", [DEFAULT_EMBEDDER, DLIB])
    @pytest.mark.parametrize("fmr", [1e-3, 1e-4])
    def test_card_budget_is_calibrated(self, registry, model_id, fmr):
        spec = registry.spec(model_id)
        card = FaceMatcher.from_registry(registry, model_id, MatchConfig(fmr=fmr, budget="card"))
        assert card.threshold == calibrated_threshold(spec, fmr, "card")
        assert card.threshold != calibrated_threshold(spec, fmr, "lfw")
        assert "match_cards" in spec.extra["calibrated_on_card"]

    def test_review_band_thresholds(self, registry):
        spec = registry.spec(DEFAULT_EMBEDDER)
        off = FaceMatcher.from_registry(registry, config=MatchConfig(budget="card"))
        assert (off.review_threshold, off.review_fmr) == (None, None)
        config = MatchConfig(budget="card", review_fmr=1e-2)
        band = FaceMatcher.from_registry(registry, config=config)
        assert band.threshold == off.threshold
        assert band.review_threshold == calibrated_threshold(spec, 1e-2, "card")
        assert band.review_fmr == 1e-2
        assert band.review_threshold < band.threshold
        assert "1e-2" in spec.extra["thresholds_by_fmr"]  # the LFW budget has one too

    def test_review_band_needs_its_threshold(self, registry):
        with pytest.raises(ValueError, match=r"no threshold calibrated for FMR 0\.01"):
            FaceMatcher.from_registry(registry, DLIB, MatchConfig(review_fmr=1e-2))

    def test_a_score_judged_against_another_threshold_is_never_in_the_band(self, registry):
        """A cascade's early reject is in its screen's scale (dlib's minus the distance)."""
        config = MatchConfig(budget="card", review_fmr=1e-2)
        band = FaceMatcher.from_registry(registry, config=config)
        fused = (band.threshold + band.review_threshold) / 2
        assert band.in_review_band(MatchScore(fused, band.threshold, 1e-3, band.model))
        assert not band.in_review_band(MatchScore(fused, -0.62, 1e-3, band.model))
        assert not band.in_review_band(MatchScore(band.threshold, band.threshold, 1e-3, band.model))

    def test_review_threshold_must_be_below_the_threshold(self, matcher):
        with pytest.raises(ValueError, match="above the threshold"):
            FaceMatcher(matcher.detector, matcher.embedder, threshold=0.3, fmr=1e-3,
                        review_threshold=0.4, review_fmr=1e-2)  # fmt: skip
        with pytest.raises(ValueError, match="come together"):
            FaceMatcher(matcher.detector, matcher.embedder, threshold=0.3, fmr=1e-3,
                        review_threshold=0.2)  # fmt: skip


@pytest.mark.models
@pytest.mark.dataset
def test_lfw_subset_through_the_whole_chain(matcher, lfw):
    """Detector on the tight 112 px crops + alignment + SFace: 40 pairs of fold 1 are right."""
    import cv2

    with (lfw / "pairs.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["fold"] == "1"]
    rows = rows[:20] + rows[-20:]  # 20 same, 20 different

    def load(name):
        return np.ascontiguousarray(cv2.imread(str(lfw / name))[:, :, ::-1])

    correct = sum(
        matcher.match(load(r["img1"]), load(r["img2"])).match == (r["same"] == "1") for r in rows
    )
    assert correct >= 38
