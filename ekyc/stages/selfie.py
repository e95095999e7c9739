"""The selfie: no My Number back in it, one usable face, the card's portrait, the face match."""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.detect import CardLayouts, find_card, refuse_my_number_back
from ekyc.match import FaceMatcher, MatchConfig, assess_face, embed_faces
from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.types import Embedding, Frame, RGBImage
from ekyc.verdict import ReasonCode

__all__ = ["SelfieFaces", "selfie_stage"]


@dataclass(frozen=True, slots=True, eq=False)
class SelfieFaces:
    """The embeddings the match used, for the liveness stage (None where not found)."""

    selfie: Embedding | None
    portrait: Embedding | None


def selfie_stage(selfie: Frame, findings: DocumentFindings, matcher: FaceMatcher,
                 layouts: CardLayouts, config: MatchConfig, evidence: Evidence
                 ) -> SelfieFaces:  # fmt: skip
    """Judge the selfie and match it against the document's reference face."""
    with evidence.timed("selfie.card_check"):
        refuse_my_number_back(find_card(selfie, layouts))
    detector, embedder = matcher.detector, matcher.embedder
    evidence.model(detector.model)
    evidence.model(embedder.model)
    with evidence.timed("selfie.faces"):
        faces = detector.detect(selfie.image)
        gate = assess_face(selfie.image, faces, config)
    evidence.check("selfie", faces=len(faces), issues=[i.value for i in gate.issues],
                   checks={k: round(c.value, 4) for k, c in gate.checks.items()})  # fmt: skip
    if gate.face is None or len(faces) != 1:
        evidence.reason(ReasonCode.NO_FACE_IN_SELFIE, "selfie", f"{len(faces)} faces")
        return SelfieFaces(None, None)
    if not gate.passed:
        evidence.reason(ReasonCode.SELFIE_QUALITY, "selfie",
                        ", ".join(i.value for i in gate.issues))  # fmt: skip
    with evidence.timed("selfie.embed"):
        mine = embed_faces(selfie.image, (gate.face,), embedder)[0]
    portrait = _portrait(findings.reference_face, matcher, evidence)
    if portrait is None:
        return SelfieFaces(mine, None)
    score = matcher.compare(portrait, mine)
    evidence.check("match", similarity=round(score.similarity, 4),
                   threshold=round(score.threshold, 4), fmr=score.fmr, match=score.match,
                   model=score.model.id)  # fmt: skip
    if not score.match:
        evidence.reason(ReasonCode.FACE_MISMATCH, "match")
    return SelfieFaces(mine, portrait)


def _portrait(reference: RGBImage | None, matcher: FaceMatcher, evidence: Evidence
              ) -> Embedding | None:  # fmt: skip
    if reference is None:
        return None  # the document stages already said why
    with evidence.timed("portrait"):
        faces = matcher.detector.detect(reference)
        if not faces:
            evidence.check("portrait", faces=0)
            evidence.reason(ReasonCode.NO_FACE_ON_CARD, "portrait")
            return None
        best = max(faces, key=lambda f: f.score)
        evidence.check("portrait", faces=len(faces), score=round(best.score, 4),
                       box=best.box.round(1).tolist())  # fmt: skip
        return embed_faces(reference, (best,), matcher.embedder)[0]
