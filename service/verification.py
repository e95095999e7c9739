"""The daemon's ``loanflow.verifier.Verifier``: ekyc's pipeline with the session's liveness.

loanflow hands a verifier the document type and the shots; the pipeline also wants the
challenge that was issued and the frames recorded for it. ``PipelineVerifier`` binds
those for one ``finish`` and keeps the full ``Verdict`` for the response, while loanflow
stores the decision, reason codes and model hashes in the 7-year record.

Without preloaded models (``preload_models=False``: development and tests),
``verifier_for`` falls back to loanflow's ``DecodeCheckVerifier``, which never accepts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import ekyc
from ekyc.capture import decode_image
from ekyc.config import DecodeLimits
from ekyc.errors import InputError, StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence, TimedFrame
from ekyc.pipeline import Verifier as Pipeline
from ekyc.types import DocumentType, Shot
from ekyc.verdict import Verdict
from loanflow.verifier import Decision, DecodeCheckVerifier, VerifierOutcome

__all__ = ["PipelineVerifier", "decode_recording"]


class PipelineVerifier:
    """``ekyc.pipeline.Verifier`` for one session, its challenge and frames bound."""

    name = f"ekyc-pipeline@{ekyc.__version__}"
    method = "image_and_selfie"

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        challenge: Challenge | None,
        frames: FrameSequence | None,
        now: datetime,
    ) -> None:
        self.pipeline = pipeline
        self.challenge = challenge
        self.frames = frames
        self.now = now
        self.verdict: Verdict | None = None

    def verify(self, document: DocumentType, shots: Mapping[Shot, bytes]) -> VerifierOutcome:
        """Run the pipeline; an undecodable shot is a rejection, not an exception."""
        try:
            verdict = self.pipeline.verify(
                document,
                {shot.value: data for shot, data in shots.items()},
                challenge=self.challenge,
                frames=self.frames,
                now=self.now,
            )
        except (InputError, StepNotAllowed) as error:
            return VerifierOutcome(Decision.REJECT, (error.code,), models=())
        self.verdict = verdict
        return VerifierOutcome(
            Decision(verdict.decision.value),
            tuple(reason.code.value for reason in verdict.reasons),
            models=verdict.models,
            image_sha256={Shot(k): v for k, v in verdict.inputs_sha256.items() if k in _SHOTS},
        )

    def verdict_json(self) -> dict[str, Any] | None:
        """The full verdict (``Verdict.to_json``), once ``verify`` has run."""
        return self.verdict.to_json() if self.verdict is not None else None


_SHOTS = frozenset(shot.value for shot in Shot)


def decode_recording(recording: Mapping[str, Any], limits: DecodeLimits) -> FrameSequence:
    """The stored recording (base64 JPEG frames) as the pipeline's ``FrameSequence``.

    Raises:
        InputError: A frame that is not a decodable image.
    """
    frames = []
    for item in recording["frames"]:
        try:
            data = base64.b64decode(item["image"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise InputError("a frame is not valid base64", reason="bad_base64") from error
        frames.append(TimedFrame(float(item["t_ms"]), decode_image(data, limits).image))
    return FrameSequence(
        nonce=str(recording["nonce"]),
        started_at=datetime.fromisoformat(str(recording["started_at"])),
        frames=tuple(frames),
    )


def fallback_verifier() -> DecodeCheckVerifier:
    """The decode-and-quality verifier used when no models were preloaded."""
    return DecodeCheckVerifier()
