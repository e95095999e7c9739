"""What every verification method hands to the shared selfie stages, and how evidence is kept."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from ekyc.screening import ShotScreening
from ekyc.types import DocumentType, Frame, ModelRef, RGBImage
from ekyc.verdict import Reason, ReasonCode

__all__ = ["DocumentFindings", "DocumentMethod", "Evidence", "timed_into"]


@dataclass(frozen=True, slots=True, eq=False)
class DocumentFindings:
    """A method's result: the face to match the selfie against, and the document's card.

    Attributes:
        reference_face: Image holding the document's portrait (the rectified card for the
            image method, the chip's portrait for an IC-chip method); None when not found.
        card_image: The rectified front of the card, for reading its fields; None if none.
        document_type: The document the findings are about.
        other_views: The same card's front rectified from other shots (the image method's
            tilted shot, once shown to be the same card), at ``card_image``'s scale: a
            second read of a field that a finger or glare hides on the front, and a second
            sample of the portrait (``ekyc.stages.selfie``).
    """

    reference_face: RGBImage | None
    card_image: RGBImage | None
    document_type: DocumentType
    other_views: tuple[RGBImage, ...] = ()


class DocumentMethod(Protocol):
    """A way of establishing the document: examine the shots it needs, record evidence.

    ``prepare`` is the work on one shot that needs no other shot and records nothing; the
    pipeline runs it for every shot at once (on several threads) and hands the results to
    ``examine``, which records the evidence in a fixed order.
    """

    name: str

    def prepare(self, shot: str, frame: Frame, screened: ShotScreening | None = None) -> Any:
        """Per-shot work for ``examine`` (None for shots the method does not examine).

        ``screened``: the card already found on this shot's bytes (``Verifier.screen_shot``),
        which a method may use instead of looking again; with the judgements this very
        method made on it on arrival as this step (``quality``, ``tilt``), where it did.
        """
        ...

    def examine(
        self,
        document_type: DocumentType,
        shots: Mapping[str, Frame],
        evidence: Evidence,
        prepared: Mapping[str, Any] | None = None,
    ) -> DocumentFindings:
        """Check the document shots; add reasons and checks to ``evidence``.

        ``prepared`` holds ``prepare``'s results by shot; a shot missing from it is
        prepared here.
        """
        ...


@dataclass(slots=True)
class Evidence:
    """The mutable notebook a verification writes while it runs; frozen into a Verdict."""

    reasons: list[Reason] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    models: dict[str, ModelRef] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def reason(self, code: ReasonCode, stage: str, detail: str = "") -> None:
        """Record why the case is not a plain accept."""
        self.reasons.append(Reason(code, stage, detail))

    def check(self, stage: str, **values: Any) -> None:
        """Record JSON-ready evidence of a stage (merged with what it already recorded)."""
        self.checks.setdefault(stage, {}).update(values)

    def model(self, ref: ModelRef) -> None:
        """Record a model that contributed."""
        self.models[ref.id] = ref

    def timed(self, stage: str) -> AbstractContextManager[None]:
        """Add the wall time of the block to the stage's timing."""
        return timed_into(self.timings_ms, stage)

    def timing(self, stage: str, ms: float) -> None:
        """Add ``ms`` to the stage's timing (work timed on another thread)."""
        self.timings_ms[stage] = self.timings_ms.get(stage, 0.0) + ms

    def merge(self, other: Evidence) -> None:
        """Append what ``other`` recorded, as if it had been recorded here after the rest."""
        self.reasons.extend(other.reasons)
        for stage, values in other.checks.items():
            self.checks.setdefault(stage, {}).update(values)
        self.models.update(other.models)
        for stage, ms in other.timings_ms.items():
            self.timing(stage, ms)


@contextmanager
def timed_into(timings_ms: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall time of the block to ``timings_ms[stage]``.

    Work that records no evidence (it runs on another thread) times itself into its own
    dict; ``Evidence.timing`` adds those figures afterwards.
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        timings_ms[stage] = timings_ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0
