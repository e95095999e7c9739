"""The seam between an eKYC session and the identity-check pipeline.

A session hands the applicant's shots to a ``Verifier`` and keeps what comes back in the
7-year verification record. The end-to-end ``ekyc.verify`` will be one such verifier;
until it exists, ``DecodeCheckVerifier`` is a real, honest one: it decodes every shot
with ``ekyc.decode_image``, measures capture quality with ``ekyc.assess_quality``, and
since it compares no faces it never accepts on its own: its decision is ``REVIEW`` (a
person compares the selfie with the card) or ``REJECT`` (a shot is unusable).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import ekyc
from ekyc.config import DecodeLimits
from ekyc.errors import InputError
from ekyc.screening import ShotScreening
from ekyc.types import DocumentType, ModelRef, Shot

__all__ = [
    "Decision",
    "DecodeCheckVerifier",
    "ShotScreen",
    "Verifier",
    "VerifierOutcome",
    "required_shots",
]


class Decision(enum.StrEnum):
    """The verdict's decision, as ``ekyc``'s ``Verdict`` will carry it."""

    ACCEPT = "accept"
    REJECT = "reject"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class VerifierOutcome:
    """What a verifier says about one session's shots.

    Attributes:
        decision: Accept, reject, or ask a person.
        reasons: Stable reason codes (e.g. ``FACE_MISMATCH``, ``front:glare``).
        models: The models that produced it (id + sha256), for a reproducible re-run.
        image_sha256: The sha256 of each shot's bytes as the verifier received them.
    """

    decision: Decision
    reasons: tuple[str, ...]
    models: tuple[ModelRef, ...]
    image_sha256: Mapping[Shot, str] = field(default_factory=dict)


class ShotScreen(Protocol):
    """Looks at a shot before the session keeps it (``ekyc.pipeline.Verifier`` is one).

    Shots are stored as they arrive and verified only when all are in: what must never be
    stored, a My Number card's back sent as any step, has to be caught on arrival.
    """

    def screen_shot(
        self,
        source: bytes,
        *,
        selfie: bool = False,
        limits: DecodeLimits | None = None,
        step: str | None = None,
    ) -> ShotScreening:
        """The shot's card; raises ``ekyc.errors.StepNotAllowed`` for one never to keep
        (``selfie``: a card held up below the face is looked for too) and
        ``ekyc.errors.InputError`` for one that does not decode under ``limits``.
        ``step`` (``ekyc.Shot`` value): a card step's quality, and the tilted step's tilt
        and thickness, are judged too (``ShotScreening.quality``, ``.tilt``)."""
        ...


class Verifier(Protocol):
    """Turns the shots of one identity document and a selfie into a decision."""

    @property
    def name(self) -> str:
        """``name@version``, kept in the verification record."""
        ...

    @property
    def method(self) -> str:
        """The legal verification method, e.g. ``"image_and_selfie"`` (施行規則 6条1項1号ホ)."""
        ...

    def verify(self, document: DocumentType, shots: Mapping[Shot, bytes]) -> VerifierOutcome:
        """Judge ``shots`` (all of ``required_shots(document)``); never raises for bad images."""
        ...


def required_shots(document: DocumentType) -> tuple[Shot, ...]:
    """The shots the image method needs for ``document`` (a back only where it is allowed)."""
    back = (Shot.BACK,) if document.has_back else ()
    return (Shot.FRONT, Shot.TILT, *back, Shot.SELFIE)


class DecodeCheckVerifier:
    """Decode and quality checks only; no face matching, so never ``ACCEPT``."""

    name = "decode-check@1"
    method = "image_and_selfie"

    def verify(self, document: DocumentType, shots: Mapping[Shot, bytes]) -> VerifierOutcome:
        """See the class; every shot is decoded and its quality measured."""
        reasons: list[str] = []
        hashes: dict[Shot, str] = {}
        for shot, data in shots.items():
            try:
                frame = ekyc.decode_image(data)
            except InputError as error:
                reasons.append(f"{shot.value}:{error.code}")
                continue
            hashes[shot] = frame.source_sha256
            reasons.extend(f"{shot.value}:{name}" for name in ekyc.assess_quality(frame).failures)
        unusable = any(r.split(":")[1] in _INPUT_ERRORS for r in reasons)
        reasons.append("FACE_NOT_COMPARED")
        decision = Decision.REJECT if unusable else Decision.REVIEW
        return VerifierOutcome(decision, tuple(reasons), models=(), image_sha256=hashes)


_INPUT_ERRORS = frozenset(
    {
        "invalid_input",
        "unsupported_format",
        "image_too_large",
        "decompression_bomb",
        "corrupt_image",
    }
)
