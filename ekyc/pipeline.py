"""``verify``: the one place that knows the order of the verification stages.

Order: the document rules (refusals and missing or forbidden shots, before any pixel is
decoded) -> decoding every shot -> the method's document stages (``ImageMethod``: card,
tilt, same card, back) -> OCR of the card's key fields and the cross-check with the
application (or the expiry alone) -> the selfie: a My Number back in it is refused, the
face gate, the card's portrait, the face match -> liveness (passive check, card-portrait reuse, the
active challenge, capture metadata) -> the decision.

The method is pluggable (``ekyc.methods.DocumentMethod``): an IC-chip method hands the
chip's portrait to the same selfie stages.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from ekyc.capture.decode import decode_image
from ekyc.config import PipelineConfig
from ekyc.detect import CardLayouts
from ekyc.errors import ModelNotFound, StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence
from ekyc.match import FaceMatcher, MatchConfig
from ekyc.methods import DocumentMethod, Evidence, ImageMethod
from ekyc.read import Applicant, LineReader, default_reader
from ekyc.registry import Registry
from ekyc.rules import rule_for
from ekyc.stages import LivenessInputs, liveness_stage, reading_stage, selfie_stage
from ekyc.types import DocumentType, Frame, Shot
from ekyc.verdict import ReasonCode, Verdict, decide

__all__ = ["ImageSource", "Verifier"]

_JST = ZoneInfo("Asia/Tokyo")
_log = logging.getLogger(__name__)

ImageSource = bytes | str | os.PathLike[str] | Frame
"""A shot as bytes, a path, or an already decoded ``Frame``."""


class Verifier:
    """Loaded models plus configuration; build once, verify many times (thread-safe reads).

    Example:
        >>> verifier = Verifier.from_registry(Registry.from_manifest())  # doctest: +SKIP
        >>> verifier.verify("drivers_license", {"front": "f.jpg", "tilt": "t.jpg",
        ...                 "back": "b.jpg", "selfie": "me.jpg"}).decision  # doctest: +SKIP
        <Decision.REVIEW: 'review'>
    """

    def __init__(self, matcher: FaceMatcher, method: DocumentMethod, layouts: CardLayouts,
                 config: PipelineConfig | None = None, match_config: MatchConfig | None = None,
                 reader: LineReader | None = None, passive: Any = None,
                 registry: Registry | None = None) -> None:  # fmt: skip
        self.matcher = matcher
        self.method = method
        self.layouts = layouts
        self.config = config or PipelineConfig()
        self.match_config = match_config or MatchConfig()
        self.reader = reader
        self.passive = passive
        self._registry = registry
        self._tracker: Any = None
        self._tracker_lock = threading.Lock()

    @classmethod
    def from_registry(cls, registry: Registry, config: PipelineConfig | None = None) -> Verifier:
        """Load every model the image method needs (checksums checked).

        The passive liveness model is trained at setup from the evaluation data; where that
        data was absent the model is missing and the passive check is recorded as skipped.
        """
        from ekyc.liveness import PassiveChecker

        cfg = config or PipelineConfig()
        layouts = CardLayouts.from_registry(registry)
        # Thresholds calibrated on card portraits vs selfies (benchmarks/match_cards.py):
        # the LFW budget let 0.17 % impostor card pairs through at its "1e-3".
        match_config = MatchConfig(budget="card")
        matcher = FaceMatcher.from_registry(registry, config=match_config)
        try:
            passive = PassiveChecker(registry)
        except ModelNotFound as exc:
            _log.warning("passive liveness unavailable: %s", exc.message)
            passive = None
        return cls(matcher, ImageMethod(layouts, cfg), layouts, cfg, match_config,
                   reader=default_reader(),
                   passive=passive, registry=registry)  # fmt: skip

    def tracker(self) -> Any:
        """The FaceMesh tracker for challenges, loaded on first use."""
        with self._tracker_lock:
            if self._tracker is None:
                from ekyc.liveness import FaceMeshTracker

                self._tracker = FaceMeshTracker(self._registry or Registry.from_manifest())
            return self._tracker

    def verify(self, document: DocumentType | str, shots: Mapping[str, ImageSource], *,
               applicant: Applicant | None = None, today: dt.date | None = None,
               challenge: Challenge | None = None, frames: FrameSequence | None = None,
               now: dt.datetime | None = None) -> Verdict:  # fmt: skip
        """Verify one applicant's shots (``front``, ``tilt``, ``back``, ``selfie``).

        Args:
            document: The document type the applicant chose.
            shots: ``front``, ``tilt``, ``back`` (when the type has one), ``selfie``.
            applicant: The application's data to cross-check the card against; without it
                only the card's expiry is checked.
            today: The date of the check; the date in Japan when omitted.
            challenge: The liveness challenge the applicant was given ...
            frames: ... and the frames they recorded for it. Without them the verdict can
                at most reach review (``LIVENESS_NOT_PROVEN``).
            now: Server time of the evaluation (timezone-aware); now when omitted.

        Raises:
            StepNotAllowed: a shot the rules forbid (a My Number card's back) or a missing
                one; the forbidden bytes are not decoded, let alone kept.
            InputError: a shot that cannot be decoded.
        """
        return self.verify_with_frames(
            document,
            shots,
            applicant=applicant,
            today=today,
            challenge=challenge,
            frames=frames,
            now=now,
        )[0]

    def verify_with_frames(self, document: DocumentType | str,
                           shots: Mapping[str, ImageSource], *,
                           applicant: Applicant | None = None, today: dt.date | None = None,
                           challenge: Challenge | None = None,
                           frames: FrameSequence | None = None, now: dt.datetime | None = None
                           ) -> tuple[Verdict, dict[str, Frame]]:  # fmt: skip
        """``verify``, also returning the decoded shots (for evidence images)."""
        document_type = DocumentType(document)
        liveness = LivenessInputs(challenge, frames, now)
        evidence = Evidence()
        rule = rule_for(document_type)
        if not rule.accepted:
            evidence.reason(ReasonCode.DOCUMENT_NOT_ACCEPTED, "rules", rule.refusal or "")
            return self._verdict(evidence, {}, document_type), {}
        _check_shots(document_type, shots)
        decoded: dict[str, Frame] = {}
        with evidence.timed("decode"):
            for name, source in shots.items():
                decoded[name] = (source if isinstance(source, Frame)
                                 else decode_image(source, self.config.decode))  # fmt: skip
        findings = self.method.examine(document_type, decoded, evidence)
        reading_stage(findings, applicant, today or dt.datetime.now(_JST).date(), self.reader,
                      evidence)  # fmt: skip
        faces = selfie_stage(decoded["selfie"], findings, self.matcher, self.layouts,
                             self.match_config, evidence)  # fmt: skip
        liveness_stage(decoded, faces, liveness, passive=self.passive,
                       tracker=self.tracker() if challenge is not None else None,
                       matcher=self.matcher, evidence=evidence)  # fmt: skip
        return self._verdict(evidence, decoded, document_type), decoded

    def _verdict(self, evidence: Evidence, frames: Mapping[str, Frame],
                 document_type: DocumentType) -> Verdict:  # fmt: skip
        return Verdict(
            decision=decide(evidence.reasons), reasons=tuple(evidence.reasons),
            method=self.method.name, checks=evidence.checks,
            models=tuple(evidence.models.values()),
            inputs_sha256={name: f.source_sha256 for name, f in frames.items()},
            timings_ms=evidence.timings_ms, document=document_type.value)  # fmt: skip


def _check_shots(document_type: DocumentType, shots: Mapping[str, ImageSource]) -> None:
    """Refuse unknown, forbidden and missing shots before anything is decoded."""
    allowed = {shot.value for shot in rule_for(document_type).shots}
    for name in shots:
        if name == Shot.BACK.value and name not in allowed:
            raise StepNotAllowed(
                "the back of the My Number card must not be photographed; the image was "
                "discarded (個人番号カードの裏面は撮影できません)",
                reason="my_number_back",
            )
        if name not in allowed:
            raise StepNotAllowed(
                f"{name!r} is not a shot of the image method", reason="unknown_shot", shot=name
            )
    missing = [name for name in sorted(allowed) if name not in shots]
    if missing:
        raise StepNotAllowed(
            f"missing shot(s): {', '.join(missing)}", reason="missing_shot", missing=missing
        )
