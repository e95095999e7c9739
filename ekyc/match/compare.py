"""Comparison: similarity of two embeddings and the calibrated decision.

Why calibrated thresholds: a threshold means nothing without the false-match rate it stands
for. The manifest entry of each embedder carries ``thresholds_by_fmr`` (found by
``benchmarks/match.py`` on LFW folds 1-6, leave one fold out) and ``calibrated_on``; the
result carries the threshold, the rate and the model, so a reviewer can re-run it.
A second budget, ``thresholds_by_fmr_card`` (``benchmarks/match_cards.py``: a synthetic
card's printed LFW portrait, photographed and rectified, vs a selfie of another LFW image),
holds the thresholds for the pairs the pipeline compares; ``MatchConfig.budget`` chooses.
A looser rate's threshold in the same table (``MatchConfig.review_fmr``, FMR 1e-2 in the
verify path) is the lower edge of a review band: a score between it and the decision
threshold goes to a person (``FaceMatcher.in_review_band``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ekyc.match.cascade import StagedEmbedding, parse_metric
from ekyc.match.config import CALIBRATIONS
from ekyc.registry import ModelSpec
from ekyc.types import Embedding, MatchScore

__all__ = [
    "calibrated_threshold",
    "compare",
    "primary_similarity",
    "quality_term",
    "similarities",
    "similarity",
    "zsum_members",
]


def similarity(a: Embedding, b: Embedding, metric: str) -> float:
    """Higher = more alike: cosine, minus the Euclidean distance, a ``zsum``, or a cascade's.

    A cascade's (``ekyc.match.cascade``) is its fusion's, both embeddings finished.
    """
    if a.model != b.model:
        raise ValueError(f"embeddings come from different models: {a.model.id}, {b.model.id}")
    if metric.startswith("cascade:"):  # the fused similarity: both embeddings finished
        return similarity(_finished(a), _finished(b), parse_metric(metric)[3])
    return float(similarities(a.vector[None], b.vector[None], metric)[0])


def _finished(e: Embedding) -> Embedding:
    if not isinstance(e, StagedEmbedding):
        raise ValueError("a cascade compares the StagedEmbeddings its embed() returned")
    return e.full()


def primary_similarity(a: Embedding, b: Embedding, metric: str) -> float:
    """``similarity`` in the scale of a fused model's first member (else ``similarity``).

    Why: a rule written in one model's scale (``portrait_reused``'s SFace cosine 0.85) keeps
    its meaning under a fusion whose first member is that model; the ``zsum`` score has
    another scale. The fused descriptor starts with the first member's own descriptor.
    """
    if metric.startswith("cascade:"):
        if a.model != b.model:
            raise ValueError(f"embeddings come from different models: {a.model.id}, {b.model.id}")
        return primary_similarity(_finished(a), _finished(b), parse_metric(metric)[3])
    if metric.startswith("zsumq:"):
        metric = quality_term(metric)[1]
    if not metric.startswith("zsum:"):
        return similarity(a, b, metric)
    if a.model != b.model:
        raise ValueError(f"embeddings come from different models: {a.model.id}, {b.model.id}")
    name, n, _, _ = zsum_members(metric)[0]
    return float(similarities(a.vector[None, :n], b.vector[None, :n], name)[0])


def quality_term(metric: str) -> tuple[tuple[float, float, float], str]:
    """``((center, beta, gamma), "zsum:...")`` of an adapted fusion's ``zsumq:`` metric.

    ``zsumq:CENTER,BETA,GAMMA|zsum:...`` scores ``z - beta * q + gamma * q * z``, where ``z``
    is the ``zsum`` and ``q`` the smaller first-member descriptor norm minus ``center``
    (``ekyc.match.fusion``, ``models/adapt.py``).
    """
    head, _, zsum = metric.removeprefix("zsumq:").partition("|")
    center, beta, gamma = (float(v) for v in head.split(","))
    if not zsum.startswith("zsum:"):
        raise ValueError(f"zsumq metric needs '|zsum:...', got {metric!r}")
    return (center, beta, gamma), zsum


def zsum_members(metric: str) -> list[tuple[str, int, float, float]]:
    """``(metric, dims, impostor mean, impostor std)`` of each member of a ``zsum:`` metric."""
    members = []
    for part in metric.removeprefix("zsum:").split(";"):
        name, dim, mean, std = part.split(",")
        members.append((name, int(dim), float(mean), float(std)))
    return members


def similarities(
    a: npt.NDArray[np.floating[Any]], b: npt.NDArray[np.floating[Any]], metric: str
) -> npt.NDArray[np.float64]:
    """Row-wise ``similarity`` of two ``(n, d)`` arrays of descriptors.

    ``metric`` is ``cosine`` (0 where a descriptor is all zeros), ``euclidean`` (minus the
    distance) or a fused model's ``zsum:METRIC,DIM,MEAN,STD;...``: the descriptors are the
    members' side by side (``DIM`` columns each), and the score is the sum of each member's
    similarity z-normalised by the impostor ``MEAN`` and ``STD`` it was calibrated with.
    """
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a64.shape != b64.shape or a64.ndim != 2:
        raise ValueError(
            f"descriptors must be matching (n, d) arrays, got {a64.shape}, {b64.shape}"
        )
    if metric == "cosine":
        denom = np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1)
        dots = np.sum(a64 * b64, axis=1)
        cos: npt.NDArray[np.float64] = np.divide(
            dots, denom, out=np.zeros_like(dots), where=denom > 0
        )
        return cos
    if metric == "euclidean":
        dist: npt.NDArray[np.float64] = np.linalg.norm(a64 - b64, axis=1)
        return -dist
    if metric.startswith("zsum:"):
        total, start = np.zeros(len(a64)), 0
        for name, dims, mean, std in zsum_members(metric):
            stop = start + dims
            member = similarities(a64[:, start:stop], b64[:, start:stop], name)
            total += (member - mean) / std
            start = stop
        if start != a64.shape[1]:
            raise ValueError(f"{metric!r} covers {start} of {a64.shape[1]} dimensions")
        return total
    if metric.startswith("zsumq:"):
        (center, beta, gamma), zsum = quality_term(metric)
        z = similarities(a64, b64, zsum)
        first = zsum_members(zsum)[0][1]
        q = np.minimum(np.linalg.norm(a64[:, :first], axis=1),
                       np.linalg.norm(b64[:, :first], axis=1)) - center  # fmt: skip
        scored: npt.NDArray[np.float64] = z - beta * q + gamma * q * z
        return scored
    if metric.startswith("cascade:"):
        raise ValueError("a cascade's descriptors alone cannot be scored: compare() or "
                         "similarity() its StagedEmbeddings")  # fmt: skip
    raise ValueError(
        f"metric must be 'cosine', 'euclidean', 'zsum:...' or 'zsumq:...', got {metric!r}"
    )


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
    """Similarity of ``a`` and ``b`` judged against ``threshold`` (calibrated at ``fmr``).

    A cascade (``ekyc.match.cascade``) first scores the screen member's descriptors: at or
    above its ``accept_from`` the result is that similarity against ``accept_from`` (a
    match), below ``reject_below`` that similarity against ``reject_below`` (no match);
    between them the fused similarity against ``threshold``.
    """
    if metric.startswith("cascade:"):
        if a.model != b.model:
            raise ValueError(f"embeddings come from different models: {a.model.id}, {b.model.id}")
        screen, lo, hi, _ = parse_metric(metric)
        s = float(similarities(a.vector[None], b.vector[None], screen)[0])
        if s >= hi or s < lo:
            return MatchScore(similarity=s, threshold=hi if s >= hi else lo, fmr=fmr,
                              model=a.model)  # fmt: skip
    return MatchScore(
        similarity=similarity(a, b, metric), threshold=threshold, fmr=fmr, model=a.model
    )
