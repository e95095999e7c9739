"""The liveness stage's card-portrait reuse rule: too similar, and not shown live."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ekyc.liveness import LivenessResult
from ekyc.methods.base import Evidence
from ekyc.stages.liveness import LivenessInputs, LivenessLook, liveness_stage
from ekyc.stages.selfie import SelfieFaces
from ekyc.types import CaptureMetadata, Embedding, Frame, ModelRef
from ekyc.verdict import ReasonCode

_MODEL = ModelRef("face-embed/test@1", "0" * 64)
_MATCHER: Any = SimpleNamespace(embedder=SimpleNamespace(metric="cosine"))


def _faces(cosine: float) -> SelfieFaces:
    """A selfie and a portrait whose cosine is ``cosine``."""
    portrait = np.array([1.0, 0.0], np.float32)
    selfie = np.array([cosine, np.sqrt(1.0 - cosine**2)], np.float32)
    return SelfieFaces(Embedding(selfie, _MODEL), Embedding(portrait, _MODEL))


def _run(cosine: float, *, passive_live: bool | None, active_live: bool | None) -> Evidence:
    frame = Frame(np.zeros((8, 8, 3), np.uint8), CaptureMetadata("JPEG"), "0" * 64)
    passive = None if passive_live is None else object()
    passive_look = None
    if passive_live is not None:
        passive_look = LivenessLook(LivenessResult(passive_live, 0.9 if passive_live else 0.1, 0.6),
                                    1.0)  # fmt: skip
    inputs, active_look = LivenessInputs(), None
    if active_live is not None:
        sentinel: Any = object()  # never read: the evaluation is given
        inputs = LivenessInputs(sentinel, sentinel)
        active_look = LivenessLook(LivenessResult(active_live, 1.0 if active_live else 0.5, 1.0),
                                   1.0)  # fmt: skip
    evidence = Evidence()
    liveness_stage({"selfie": frame}, _faces(cosine), inputs, passive=passive, tracker=None,
                   matcher=_MATCHER, evidence=evidence, passive_look=passive_look,
                   active_look=active_look)  # fmt: skip
    return evidence


def _codes(evidence: Evidence) -> list[ReasonCode]:
    return [reason.code for reason in evidence.reasons]


@pytest.mark.parametrize(
    ("passive_live", "active_live"),
    [(False, True), (True, False), (None, True), (True, None), (False, None)],
)
def test_too_similar_and_not_shown_live_is_the_card_portrait(passive_live, active_live):
    """A print (the passive check's alarm), a failed or missing challenge, or no passive
    model: the similarity alone decides, as before."""
    evidence = _run(0.9, passive_live=passive_live, active_live=active_live)
    assert ReasonCode.SELFIE_IS_CARD_PORTRAIT in _codes(evidence)
    checks = evidence.checks["liveness"]
    assert checks["card_portrait_reused"] is True
    assert checks["card_portrait_similarity"] == pytest.approx(0.9, abs=1e-4)
    assert checks["card_portrait_shown_live"] is False


def test_too_similar_but_shown_live_is_a_new_photo():
    """Challenge passed and no print or screen read: a genuine frontal pair at 0.9 is kept."""
    evidence = _run(0.9, passive_live=True, active_live=True)
    assert _codes(evidence) == []
    checks = evidence.checks["liveness"]
    assert checks["card_portrait_reused"] is False
    assert checks["card_portrait_shown_live"] is True
    assert checks["card_portrait_similarity"] == pytest.approx(0.9, abs=1e-4)


def test_dissimilar_is_never_the_card_portrait():
    evidence = _run(0.6, passive_live=False, active_live=None)
    assert ReasonCode.SELFIE_IS_CARD_PORTRAIT not in _codes(evidence)
    assert _codes(evidence) == [ReasonCode.PASSIVE_ATTACK_SUSPECTED,
                                ReasonCode.LIVENESS_NOT_PROVEN]  # fmt: skip
