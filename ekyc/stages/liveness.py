"""Liveness of the selfie: passive check, card-portrait reuse, challenge, capture metadata.

Severity follows what each signal can bear. The active challenge is the proof: failing it
rejects (``NOT_LIVE``), not having one leaves the case for a person
(``LIVENESS_NOT_PROVEN``). The passive model is a screen (APCER ~2 % on NUAA, weaker on
synthetic faces): its alarm sends the case to a person (``PASSIVE_ATTACK_SUSPECTED``)
rather than rejecting a live applicant on its word alone. A selfie that is the card's
own portrait re-photographed rejects (``SELFIE_IS_CARD_PORTRAIT``): too similar to the
portrait and not shown live (a passed challenge and no print or screen read by the passive
check clear the similarity alone, ``portrait_reused``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ekyc.errors import NoFaceFound
from ekyc.liveness import (
    Challenge,
    FrameSequence,
    check_metadata,
    evaluate,
    portrait_reused,
)
from ekyc.match import FaceMatcher, primary_similarity
from ekyc.methods.base import Evidence
from ekyc.stages.selfie import SelfieFaces
from ekyc.types import Frame
from ekyc.verdict import ReasonCode

__all__ = [
    "LivenessInputs",
    "LivenessLook",
    "liveness_stage",
    "look_active",
    "look_passive",
]


@dataclass(frozen=True, slots=True, eq=False)
class LivenessInputs:
    """What the applicant sent for liveness besides the selfie (both or neither)."""

    challenge: Challenge | None = None
    frames: FrameSequence | None = None
    now: dt.datetime | None = None

    def __post_init__(self) -> None:
        if (self.challenge is None) != (self.frames is None):
            raise ValueError("a challenge and its frames come together")


@dataclass(frozen=True, slots=True, eq=False)
class LivenessLook:
    """A liveness check's result computed beforehand (on another thread), and its time.

    ``result`` is a ``LivenessResult`` for the passive check (None: no face to judge) or
    an ``ActiveResult`` for the challenge.
    """

    result: Any
    ms: float


def look_passive(selfie: Frame, passive: Any) -> LivenessLook:
    """The passive check on the selfie; records nothing (``passive`` must not be None)."""
    start = time.perf_counter()
    try:
        result = passive.check(selfie.image)
    except NoFaceFound:
        result = None  # the selfie stage says so
    return LivenessLook(result, (time.perf_counter() - start) * 1000.0)


def look_active(selfie: Frame, inputs: LivenessInputs, *, tracker: Any,
                matcher: FaceMatcher) -> LivenessLook:  # fmt: skip
    """The active challenge's evaluation; records nothing (needs the challenge and frames)."""
    if inputs.challenge is None or inputs.frames is None:
        raise ValueError("no challenge to evaluate")
    start = time.perf_counter()
    result = evaluate(inputs.challenge, inputs.frames, inputs.now or dt.datetime.now(dt.UTC),
                      tracker=tracker, matcher=matcher, selfie=selfie.image)  # fmt: skip
    return LivenessLook(result, (time.perf_counter() - start) * 1000.0)


def liveness_stage(frames: Mapping[str, Frame], faces: SelfieFaces, inputs: LivenessInputs,
                   *, passive: Any, tracker: Any, matcher: FaceMatcher, evidence: Evidence,
                   passive_look: LivenessLook | None = None,
                   active_look: LivenessLook | None = None) -> None:  # fmt: skip
    """Run every liveness signal that has its inputs and models; record what it found.

    Args:
        frames: The decoded shots (``selfie`` among them).
        faces: The selfie's and the portrait's embeddings from the selfie stage.
        inputs: The challenge and its recorded frames, if any.
        passive: An ``ekyc.liveness.PassiveChecker``, or None when its model is missing.
        tracker: A FaceMesh tracker (``ekyc.liveness.FaceMeshTracker``) for the challenge.
        matcher: The face matcher (same-face checks inside the challenge).
        evidence: Where reasons and checks go.
        passive_look: ``look_passive``'s result when the pipeline ran it beforehand.
        active_look: ``look_active``'s result when the pipeline ran it beforehand.
    """
    selfie = frames["selfie"]
    passive_live = _passive(selfie, passive, evidence, passive_look)
    result = None
    if inputs.challenge is not None and inputs.frames is not None:
        if active_look is None:
            active_look = look_active(selfie, inputs, tracker=tracker, matcher=matcher)
        evidence.timing("liveness.active", active_look.ms)
        result = active_look.result
    if faces.selfie is not None and faces.portrait is not None:
        # Shown live: the challenge passed and the passive check read no print or screen.
        shown_live = bool(passive_live and result is not None and result.live)
        reused = portrait_reused(faces.selfie, faces.portrait, matcher, shown_live=shown_live)
        similarity = primary_similarity(faces.selfie, faces.portrait, matcher.embedder.metric)
        evidence.check("liveness", card_portrait_reused=reused,
                       card_portrait_similarity=round(similarity, 4),
                       card_portrait_shown_live=shown_live)  # fmt: skip
        if reused:
            evidence.reason(ReasonCode.SELFIE_IS_CARD_PORTRAIT, "liveness")
    if result is not None:
        for ref in result.models:
            evidence.model(ref)
        evidence.check("liveness", active=result.to_dict())
        if not result.live:
            evidence.reason(ReasonCode.NOT_LIVE, "liveness",
                            ", ".join(r.value for r in result.reasons))  # fmt: skip
    else:
        evidence.reason(ReasonCode.LIVENESS_NOT_PROVEN, "liveness",
                        "no challenge frames were evaluated")  # fmt: skip
    hints = check_metadata([frame.metadata for frame in frames.values()])
    if hints:
        evidence.reason(ReasonCode.INJECTION_SUSPECTED, "liveness",
                        ", ".join(h.value for h in hints))  # fmt: skip


def _passive(selfie: Frame, passive: Any, evidence: Evidence,
             look: LivenessLook | None) -> bool | None:  # fmt: skip
    """Record the passive check; its ``live`` (None: no model, or no face to judge)."""
    if passive is None:
        evidence.check("liveness", passive="model not available (models.prepare skipped it)")
        return None
    if look is None:
        look = look_passive(selfie, passive)
    evidence.timing("liveness.passive", look.ms)
    result = look.result
    if result is None:
        return None  # no face: the selfie stage already said so
    for ref in result.models:
        evidence.model(ref)
    evidence.check("liveness", passive=result.to_dict())
    if not result.live:
        kind = result.attack_type.value if result.attack_type else "attack"
        evidence.reason(ReasonCode.PASSIVE_ATTACK_SUSPECTED, "liveness", kind)
    return bool(result.live)
