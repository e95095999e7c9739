"""Pydantic shapes of the eKYC capture routes (``service.routes.ekyc``).

Kept apart from ``service.schemas`` (My Page, quality, health) so each stays small. As
there, inputs bound sizes and types only; the rules are ekyc's and loanflow's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ekyc.capture import FrameGuidance, GuidanceCode
from ekyc.rules import DocumentRule
from ekyc.types import DocumentType
from loanflow.ekyc_session import SessionView
from loanflow.staff_views import RefusalView, ShotView
from loanflow.verifier import required_shots

__all__ = [
    "CaptureOpenIn",
    "CaptureSessionOut",
    "DocumentIn",
    "DocumentRuleOut",
    "FrameIn",
    "FramesIn",
    "GuidanceOut",
    "GuideOut",
    "RecordingOut",
    "RulesOut",
    "ShotOut",
    "StoredShotOut",
    "VerdictOut",
]

MAX_CHALLENGE_FRAMES = 150  # 3 actions x 5 s at 10 fps


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaptureOpenIn(_In):
    """The token of the mailed eKYC URL."""

    token: str = Field(min_length=16, max_length=128)


class DocumentIn(_In):
    """The identity document the applicant will photograph (``ekyc.types.DocumentType``)."""

    document_type: DocumentType


class CaptureSessionOut(BaseModel):
    """An open capture window and where the session stands."""

    capture_token: str | None = None  # only when the window is opened
    session_id: str
    expires_at: datetime  # the mailed URL's end
    capture_expires_at: datetime | None = None
    document_type: str | None
    shots_taken: list[str]
    shots_required: list[str]

    @classmethod
    def of(
        cls,
        view: SessionView,
        *,
        capture_token: str | None = None,
        capture_expires_at: datetime | None = None,
    ) -> CaptureSessionOut:
        document = view.document_type
        return cls(
            capture_token=capture_token,
            session_id=view.session_id,
            expires_at=view.expires_at,
            capture_expires_at=capture_expires_at,
            document_type=document.value if document else None,
            shots_taken=[shot.value for shot in view.shots_taken],
            shots_required=[s.value for s in required_shots(document)] if document else [],
        )


class DocumentRuleOut(BaseModel):
    """``ekyc.rules.DocumentRule``: accepted or why not, and the shots in order."""

    document_type: str
    accepted: bool
    shots: list[str]
    has_back: bool
    refusal: str | None

    @classmethod
    def of(cls, rule: DocumentRule) -> DocumentRuleOut:
        return cls(
            document_type=rule.document_type.value,
            accepted=rule.accepted,
            shots=[shot.value for shot in rule.shots],
            has_back=rule.has_back,
            refusal=rule.refusal,
        )


class RulesOut(BaseModel):
    documents: list[DocumentRuleOut]


class GuideOut(BaseModel):
    x: float
    y: float
    width: float
    height: float


class GuidanceOut(BaseModel):
    """``ekyc.capture.assess_frame`` on one preview frame, plus the hold rule's verdict.

    ``code``/``message_*`` are what to show now (``hold_guidance`` over the recent frames);
    ``capture`` is true when the page should take the shot.
    """

    code: str
    message_ja: str
    message_en: str
    capture: bool
    frame_code: str  # this frame alone
    width: int
    height: int
    guide: GuideOut
    corners: list[list[float]] | None
    luminance: float | None
    glare_fraction: float | None
    sharpness: float | None

    @classmethod
    def of(
        cls, guidance: FrameGuidance, shown: GuidanceCode, width: int, height: int
    ) -> GuidanceOut:
        g = guidance.guide
        return cls(
            code=shown.value,
            message_ja=shown.message_ja,
            message_en=shown.message_en,
            capture=shown is GuidanceCode.READY,
            frame_code=guidance.code.value,
            width=width,
            height=height,
            guide=GuideOut(x=g.x, y=g.y, width=g.width, height=g.height),
            corners=guidance.corners.tolist() if guidance.corners is not None else None,
            luminance=guidance.luminance,
            glare_fraction=guidance.glare_fraction,
            sharpness=guidance.sharpness,
        )


class ShotOut(BaseModel):
    shot: str
    sha256: str
    received_at: datetime
    shots_taken: list[str]


class FrameIn(_In):
    t_ms: float = Field(ge=0, le=120_000)  # since the recording started
    image: str = Field(min_length=4)  # base64 JPEG (the body limit bounds the total)


class FramesIn(_In):
    """The frames recorded for the challenge, echoing its nonce."""

    nonce: str = Field(min_length=16, max_length=128)
    started_at: datetime
    frames: list[FrameIn] = Field(min_length=1, max_length=MAX_CHALLENGE_FRAMES)


class RecordingOut(BaseModel):
    """A challenge recording kept (201): the same body whether it passed or not.

    A recording the applicant must make again (face turned, eyes not open, mouth open at
    rest) is a 422 ``retake_needed`` problem instead, with a new ``challenge``; any other
    outcome is told by the finish's verdict only, so that this answer gives whoever made a
    fake recording nothing to adjust it by.
    """

    frames: int
    received_at: datetime


class VerdictOut(BaseModel):
    """The recorded outcome, and the pipeline's full verdict when it ran."""

    session_id: str
    decision: str
    reasons: list[str]
    verifier: str
    verified_at: datetime
    verdict: dict[str, Any] | None


class RerunOut(BaseModel):
    """A reviewer's re-run of the recorded shots, beside the record it re-judged.

    The record never changes; the re-run is judged as of the record's time. The challenge
    recording is deleted once a session finishes, so a re-run cannot re-judge the active
    challenge: the pipeline then reaches at most review (``LIVENESS_NOT_PROVEN``).
    """

    session_id: str
    document_type: DocumentType
    recorded_decision: str
    recorded_reasons: list[str]
    recorded_verifier: str
    verified_at: datetime
    decision: str
    reasons: list[str]
    verifier: str
    models: dict[str, str]
    verdict: dict[str, Any] | None


class RefusalOut(BaseModel):
    """A shot refused on arrival for a retake (never stored): step, reason, time.

    ``shot`` is ``challenge`` for a liveness challenge recording asked again (its frames
    dropped, a new challenge issued), ``reason`` e.g. ``face_turned_at_rest``.
    """

    session_id: str
    shot: str
    reason: str  # lower-case ekyc reason code, e.g. "flat_reproduction"
    refused_at: datetime

    @classmethod
    def of(cls, view: RefusalView) -> RefusalOut:
        return cls(
            session_id=view.session_id,
            shot=view.shot if isinstance(view.shot, str) else view.shot.value,
            reason=view.reason,
            refused_at=view.refused_at,
        )


class StoredShotOut(BaseModel):
    """One stored eKYC image, as the staff list shows it (its bytes are not part of it)."""

    id: int
    session_id: str
    document_type: DocumentType | None
    shot: str
    sha256: str
    taken_at: datetime
    current: bool  # the latest of its kind in its session: the one that was verified

    @classmethod
    def of(cls, view: ShotView) -> StoredShotOut:
        return cls(
            id=view.id,
            session_id=view.session_id,
            document_type=view.document_type,
            shot=view.shot.value,
            sha256=view.sha256,
            taken_at=view.taken_at,
            current=view.current,
        )
