from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

from ekyc.match.compare import calibrated_threshold, compare, similarity
from ekyc.match.config import CALIBRATIONS, MatchConfig
from ekyc.registry import ModelSpec
from ekyc.types import Embedding, MatchScore, ModelRef

REF = ModelRef(id="face-embed/test@1", sha256="a" * 64)
OTHER = ModelRef(id="face-embed/other@1", sha256="b" * 64)


def _emb(values, ref=REF):
    return Embedding(vector=np.asarray(values, np.float32), model=ref)


def _spec(**extra):
    return ModelSpec(
        id=REF.id, task="face-embed", format="onnx", file="x.onnx", sha256=REF.sha256,
        size=1, source="test", license="MIT", extra=extra,
    )  # fmt: skip


class TestSimilarity:
    @pytest.mark.parametrize(
        ("a", "b", "metric", "expected"),
        [
            ([1, 0], [1, 0], "cosine", 1.0),
            ([1, 0], [0, 2], "cosine", 0.0),
            ([1, 0], [-3, 0], "cosine", -1.0),
            ([0, 0], [1, 0], "cosine", 0.0),
            ([0, 0], [3, 4], "euclidean", -5.0),
        ],
    )
    def test_values(self, a, b, metric, expected):
        assert similarity(_emb(a), _emb(b), metric) == pytest.approx(expected)

    def test_exception(self):
        with pytest.raises(ValueError, match="different models"):
            similarity(_emb([1, 0]), _emb([1, 0], OTHER), "cosine")
        with pytest.raises(ValueError, match="metric"):
            similarity(_emb([1, 0]), _emb([1, 0]), "manhattan")


class TestCompare:
    def test_decision_carries_its_evidence(self):
        score = compare(_emb([1, 0]), _emb([1, 1]), metric="cosine", threshold=0.5, fmr=1e-3)
        assert score.match is True
        assert score.similarity == pytest.approx(2**-0.5)
        assert (score.threshold, score.fmr, score.model) == (0.5, 1e-3, REF)
        assert (
            compare(_emb([1, 0]), _emb([0, 1]), metric="cosine", threshold=0.5, fmr=1e-3).match
            is False
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"similarity": float("nan"), "threshold": 0.0, "fmr": 1e-3}, "finite"),
            ({"similarity": 0.0, "threshold": 0.0, "fmr": 0.0}, "fmr"),
        ],
    )
    def test_invalid_score(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            MatchScore(model=REF, **kwargs)

    def test_calibrated_threshold(self):
        spec = _spec(thresholds_by_fmr={"1e-3": 0.3, "1e-4": 0.4})
        assert calibrated_threshold(spec, 1e-3) == 0.3
        assert calibrated_threshold(spec, 0.0001) == 0.4
        with pytest.raises(ValueError, match="no threshold calibrated"):
            calibrated_threshold(spec, 1e-2)


TWO_BUDGETS = {
    "thresholds_by_fmr": {"1e-3": 0.3, "1e-4": 0.4},
    "thresholds_by_fmr_card": {"1e-3": 0.25, "1e-4": 0.33},
}


class TestBudget:
    @pytest.mark.parametrize(
        ("extra", "fmr", "budget", "expected"),
        [
            (TWO_BUDGETS, 1e-3, "lfw", nullcontext(0.3)),
            (TWO_BUDGETS, 1e-4, "lfw", nullcontext(0.4)),
            (TWO_BUDGETS, 1e-3, "card", nullcontext(0.25)),
            (TWO_BUDGETS, 0.0001, "card", nullcontext(0.33)),
            (TWO_BUDGETS, 1e-2, "card", pytest.raises(ValueError, match="'card' budget")),
            ({"thresholds_by_fmr": {"1e-3": 0.3}}, 1e-3, "card",
             pytest.raises(ValueError, match="no threshold calibrated")),
            (TWO_BUDGETS, 1e-3, "casia", pytest.raises(ValueError, match="budget must be")),
        ],
    )  # fmt: skip
    def test_selection(self, extra, fmr, budget, expected):
        with expected as threshold:
            assert calibrated_threshold(_spec(**extra), fmr, budget) == threshold

    def test_lfw_is_the_default(self):
        assert MatchConfig().budget == "lfw"
        assert calibrated_threshold(_spec(**TWO_BUDGETS), 1e-3) == 0.3

    @pytest.mark.parametrize(
        ("budget", "expected"),
        [
            *((name, nullcontext()) for name in CALIBRATIONS),
            ("LFW", pytest.raises(ValueError, match="budget must be")),
            ("", pytest.raises(ValueError, match="budget must be")),
        ],
    )
    def test_config(self, budget, expected):
        with expected:
            assert MatchConfig(budget=budget).budget == budget


class TestReviewBandConfig:
    def test_off_by_default(self):
        assert MatchConfig().review_fmr is None
        assert MatchConfig(budget="card").review_fmr is None

    @pytest.mark.parametrize(
        ("fmr", "review_fmr", "expected"),
        [
            (1e-3, 1e-2, nullcontext()),
            (1e-4, 1e-3, nullcontext()),
            (1e-3, 1e-3, pytest.raises(ValueError, match="review_fmr must be")),
            (1e-3, 1e-4, pytest.raises(ValueError, match="review_fmr must be")),
            (1e-3, 1.0, pytest.raises(ValueError, match="review_fmr must be")),
        ],
    )
    def test_the_band_is_looser_than_the_decision(self, fmr, review_fmr, expected):
        with expected:
            assert MatchConfig(fmr=fmr, review_fmr=review_fmr).review_fmr == review_fmr


class TestEmbeddingType:
    @pytest.mark.parametrize(
        "vector", [np.zeros(0, np.float32), np.zeros((2, 2), np.float32), np.zeros(3), [1.0]]
    )
    def test_exception(self, vector):
        with pytest.raises(ValueError, match="vector"):
            Embedding(vector=vector, model=REF)
