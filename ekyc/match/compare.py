"""Comparison: similarity of two embeddings and the calibrated decision.

Why calibrated thresholds: a threshold means nothing without the false-match rate it stands
for. The manifest entry of each embedder carries ``thresholds_by_fmr`` (found by
``benchmarks/match.py`` on LFW folds 1-6, leave one fold out) and ``calibrated_on``; the
result carries the threshold, the rate and the model, so a reviewer can re-run it.
A second budget, ``thresholds_by_fmr_card`` (``benchmarks/match_cards.py``: a synthetic
card's printed LFW portrait, photographed and rectified, vs a selfie of another LFW image),
holds the thresholds for the pairs the pipeline compares; ``MatchConfig.budget`` chooses.
"""

from __future__ import annotations

import numpy as np

from ekyc.match.config import CALIBRATIONS
from ekyc.registry import ModelSpec
from ekyc.types import Embedding, MatchScore

__all__ = ["calibrated_threshold", "compare", "similarity"]


def similarity(a: Embedding, b: Embedding, metric: str) -> float:
    """Higher = more alike: cosine similarity, or minus the Euclidean distance."""
    if a.model != b.model:
        raise ValueError(f"embeddings come from different models: {a.model.id}, {b.model.id}")
    va, vb = a.vector.astype(np.float64), b.vector.astype(np.float64)
    if metric == "cosine":
        denom = float(np.linalg.norm(va) * np.linalg.norm(vb))
        return float(va @ vb / denom) if denom > 0 else 0.0
    if metric == "euclidean":
        return -float(np.linalg.norm(va - vb))
    raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")


def calibrated_threshold(spec: ModelSpec, fmr: float, budget: str = "lfw") -> float:
    """The manifest's threshold for ``fmr`` (keys like ``"1e-3"``) in ``budget``'s table.

    Raises:
        ValueError: for a budget not in ``CALIBRATIONS``, or no threshold at that rate.
    """
    if budget not in CALIBRATIONS:
        raise ValueError(f"budget must be one of {list(CALIBRATIONS)}, got {budget!r}")
    table = spec.extra.get(CALIBRATIONS[budget], {})
    for key, value in table.items():
        if np.isclose(float(key), fmr, rtol=1e-6, atol=0.0):
            return float(value)
    raise ValueError(
        f"{spec.id} has no threshold calibrated for FMR {fmr:g} on the {budget!r} budget; "
        f"has {list(table)}"
    )


def compare(a: Embedding, b: Embedding, *, metric: str, threshold: float, fmr: float) -> MatchScore:
    """Similarity of ``a`` and ``b`` judged against ``threshold`` (calibrated at ``fmr``)."""
    return MatchScore(
        similarity=similarity(a, b, metric), threshold=threshold, fmr=fmr, model=a.model
    )
