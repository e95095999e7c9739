"""``verify``: the one place that knows the order of the verification stages.

Order: the document rules (refusals and missing or forbidden shots, before any pixel is
decoded) -> decoding every shot -> the method's document stages (``ImageMethod``: card,
tilt, same card, back) -> OCR of the card's key fields and the cross-check with the
application (or the expiry alone) -> the selfie: a My Number back in it is refused, the
face gate, the card's portrait, the face match -> liveness -> the decision.

The method is pluggable (``ekyc.methods.DocumentMethod``): an IC-chip method hands the
chip's portrait to the same selfie stages.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from ekyc.capture.decode import decode_image
from ekyc.config import PipelineConfig
from ekyc.detect import CardLayouts, find_card, refuse_my_number_back
from ekyc.errors import StepNotAllowed
from ekyc.match import FaceMatcher, MatchConfig, assess_face, embed_faces
from ekyc.methods import DocumentFindings, DocumentMethod, Evidence, ImageMethod
from ekyc.read import Applicant, FieldName, LineReader, cross_check, default_reader, read_fields
from ekyc.registry import Registry
from ekyc.rules import rule_for
from ekyc.types import DocumentType, Embedding, Frame, RGBImage, Shot, Side
from ekyc.verdict import ReasonCode, Verdict, decide

__all__ = ["ImageSource", "Verifier"]

_JST = ZoneInfo("Asia/Tokyo")

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

    def __init__(
        self,
        matcher: FaceMatcher,
        method: DocumentMethod,
        layouts: CardLayouts,
        config: PipelineConfig | None = None,
        match_config: MatchConfig | None = None,
        reader: LineReader | None = None,
    ) -> None:
        self.matcher = matcher
        self.method = method
        self.layouts = layouts
        self.reader = reader
        self.config = config or PipelineConfig()
        self.match_config = match_config or MatchConfig()

    @classmethod
    def from_registry(cls, registry: Registry, config: PipelineConfig | None = None) -> Verifier:
        """Load every model the image method needs (checksums checked)."""
        cfg = config or PipelineConfig()
        layouts = CardLayouts.from_registry(registry)
        matcher = FaceMatcher.from_registry(registry)
        return cls(matcher, ImageMethod(layouts, cfg), layouts, cfg, reader=default_reader())

    def verify(
        self,
        document: DocumentType | str,
        shots: Mapping[str, ImageSource],
        *,
        applicant: Applicant | None = None,
        today: dt.date | None = None,
    ) -> Verdict:
        """Verify one applicant's shots (``front``, ``tilt``, ``back``, ``selfie``).

        Raises:
            StepNotAllowed: a shot the rules forbid (a My Number card's back) or a missing
                one; the forbidden bytes are not decoded, let alone kept.
            InputError: a shot that cannot be decoded.
        """
        return self.verify_with_frames(document, shots, applicant=applicant, today=today)[0]

    def verify_with_frames(
        self,
        document: DocumentType | str,
        shots: Mapping[str, ImageSource],
        *,
        applicant: Applicant | None = None,
        today: dt.date | None = None,
    ) -> tuple[Verdict, dict[str, Frame]]:
        """``verify``, also returning the decoded shots (for evidence images).

        Args:
            document: The document type the applicant chose.
            shots: ``front``, ``tilt``, ``back`` (when the type has one), ``selfie``.
            applicant: The application's data to cross-check the card against; without it
                only the card's expiry is checked.
            today: The date of the check; the date in Japan when omitted.
        """
        document_type = DocumentType(document)
        evidence = Evidence()
        rule = rule_for(document_type)
        if not rule.accepted:
            evidence.reason(ReasonCode.DOCUMENT_NOT_ACCEPTED, "rules", rule.refusal or "")
            return self._verdict(evidence, {}), {}
        _check_shots(document_type, shots)
        frames: dict[str, Frame] = {}
        with evidence.timed("decode"):
            for name, source in shots.items():
                frames[name] = (
                    source
                    if isinstance(source, Frame)
                    else decode_image(source, self.config.decode)
                )
        findings = self.method.examine(document_type, frames, evidence)
        self._read(findings, applicant, today or dt.datetime.now(_JST).date(), evidence)
        self._selfie(frames["selfie"], findings, evidence)
        evidence.reason(
            ReasonCode.LIVENESS_NOT_PROVEN, "liveness", "no challenge frames were evaluated"
        )
        return self._verdict(evidence, frames), frames

    def _read(
        self,
        findings: DocumentFindings,
        applicant: Applicant | None,
        today: dt.date,
        evidence: Evidence,
    ) -> None:
        """OCR the card's key fields; cross-check them, or at least the expiry."""
        if findings.card_image is None:
            return  # the document stages already said why
        with evidence.timed("ocr"):
            reads = read_fields(
                findings.card_image, findings.document_type, Side.FRONT, reader=self.reader
            )
        evidence.check(
            "ocr",
            fields={
                r.field.value: {
                    "text": r.raw_text,
                    "value": str(r.value),
                    "confidence": round(r.confidence, 3),
                }
                for r in reads.fields
            },
        )
        if applicant is not None:
            check = cross_check(reads, applicant, today)
            evidence.check(
                "cross_check",
                expired=check.expired,
                fields={
                    c.field.value: {
                        "outcome": c.outcome.value,
                        "rule": c.rule,
                        "similarity": c.similarity,
                    }
                    for c in check.checks
                },
            )
            for code in check.reasons:
                evidence.reason(code, "cross_check")
            return
        expiry = reads.get(FieldName.EXPIRY_DATE)
        if expiry is None:
            return  # this document prints no expiry
        if not isinstance(expiry.value, dt.date):
            evidence.reason(ReasonCode.FIELD_UNREADABLE, "ocr", "expiry date")
        elif today > expiry.value:
            evidence.reason(ReasonCode.DOCUMENT_EXPIRED, "ocr", expiry.value.isoformat())

    def _selfie(self, selfie: Frame, findings: DocumentFindings, evidence: Evidence) -> None:
        with evidence.timed("selfie.card_check"):
            refuse_my_number_back(find_card(selfie, self.layouts))
        detector, embedder = self.matcher.detector, self.matcher.embedder
        evidence.model(detector.model)
        evidence.model(embedder.model)
        with evidence.timed("selfie.faces"):
            faces = detector.detect(selfie.image)
            gate = assess_face(selfie.image, faces, self.match_config)
        evidence.check(
            "selfie",
            faces=len(faces),
            issues=[i.value for i in gate.issues],
            checks={k: round(c.value, 4) for k, c in gate.checks.items()},
        )
        if gate.face is None or len(faces) != 1:
            evidence.reason(ReasonCode.NO_FACE_IN_SELFIE, "selfie", f"{len(faces)} faces")
            return
        if not gate.passed:
            evidence.reason(
                ReasonCode.SELFIE_QUALITY, "selfie", ", ".join(i.value for i in gate.issues)
            )
        portrait = self._portrait(findings.reference_face, evidence)
        if portrait is None:
            return
        with evidence.timed("match"):
            selfie_embedding = embed_faces(selfie.image, (gate.face,), embedder)[0]
            score = self.matcher.compare(portrait, selfie_embedding)
        evidence.check(
            "match",
            similarity=round(score.similarity, 4),
            threshold=round(score.threshold, 4),
            fmr=score.fmr,
            match=score.match,
            model=score.model.id,
        )
        if not score.match:
            evidence.reason(ReasonCode.FACE_MISMATCH, "match")

    def _portrait(self, reference: RGBImage | None, evidence: Evidence) -> Embedding | None:
        if reference is None:
            return None  # the document stages already said why
        with evidence.timed("portrait"):
            faces = self.matcher.detector.detect(reference)
            if not faces:
                evidence.check("portrait", faces=0)
                evidence.reason(ReasonCode.NO_FACE_ON_CARD, "portrait")
                return None
            best = max(faces, key=lambda f: f.score)
            evidence.check(
                "portrait",
                faces=len(faces),
                score=round(best.score, 4),
                box=best.box.round(1).tolist(),
            )
            return embed_faces(reference, (best,), self.matcher.embedder)[0]

    def _verdict(self, evidence: Evidence, frames: Mapping[str, Frame]) -> Verdict:
        return Verdict(
            decision=decide(evidence.reasons), reasons=tuple(evidence.reasons),
            method=self.method.name, checks=evidence.checks,
            models=tuple(evidence.models.values()),
            inputs_sha256={name: f.source_sha256 for name, f in frames.items()},
            timings_ms=evidence.timings_ms)  # fmt: skip


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
