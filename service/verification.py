"""The daemon's ``loanflow.verifier.Verifier``: ekyc's pipeline with the session's liveness.

loanflow hands a verifier the document type and the shots; the pipeline also wants the
challenge that was issued and the frames recorded for it. ``PipelineVerifier`` binds
those for one ``finish`` and keeps the full ``Verdict`` for the response, while loanflow
stores the decision, reason codes and model hashes in the 7-year record.

The daemon evaluates a challenge recording when it arrives (``service.routes.ekyc``), to
ask for a retake while the applicant is still in front of the camera; that evaluation is
kept (``Arrival``) and ``verify`` hands it to the pipeline instead of evaluating the same
recording again, when it was made with the very selfie being verified. A selfie taken
after the recording (or none at the time) is not among what was judged: the pipeline then
evaluates the recording itself, as before.

Without preloaded models (``preload_models=False``: development and tests),
``verifier_for`` falls back to loanflow's ``DecodeCheckVerifier``, which never accepts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ekyc
from ekyc.capture import decode_image
from ekyc.config import DecodeLimits
from ekyc.errors import InputError, StepNotAllowed
from ekyc.liveness import Challenge, FrameSequence, LivenessResult, TimedFrame
from ekyc.pipeline import Verifier as Pipeline
from ekyc.types import DocumentType, Shot
from ekyc.verdict import Verdict
from loanflow.verifier import Decision, DecodeCheckVerifier, VerifierOutcome

__all__ = ["Arrival", "PipelineVerifier", "decode_recording", "recording_digest"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """A challenge recording's evaluation on arrival, and what it was judged with.

    Attributes:
        recording_sha256: ``recording_digest`` of the recording it judged.
        nonce: The challenge's nonce (the recording echoes it).
        selfie_sha256: The sha256 of the selfie judged with it (``"selfie among the
            frames"``), or None when there was no selfie yet: then it cannot stand for the
            finish's evaluation.
        result: The evaluator's result (``Verifier.evaluate_challenge``).
    """

    recording_sha256: str
    nonce: str
    selfie_sha256: str | None
    result: LivenessResult

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept beside the recording (``LivenessFiles.save_arrival``)."""
        return {"recording_sha256": self.recording_sha256, "nonce": self.nonce,
                "selfie_sha256": self.selfie_sha256, "result": self.result.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Arrival:
        """Inverse of ``to_dict``; ``ValueError`` on anything malformed."""
        try:
            selfie = raw["selfie_sha256"]
            return cls(str(raw["recording_sha256"]), str(raw["nonce"]),
                       str(selfie) if selfie is not None else None,
                       LivenessResult.from_dict(raw["result"]))  # fmt: skip
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed arrival: {exc!r}") from exc

    def stands_for(self, challenge: Challenge | None, recording: Mapping[str, Any],
                   selfie: bytes | None) -> bool:  # fmt: skip
        """Whether this evaluation is the one ``verify`` would make of ``recording`` for
        ``challenge`` with ``selfie``: the same challenge and frames, judged with these
        selfie bytes."""
        return (
            challenge is not None
            and challenge.nonce == self.nonce
            and recording_digest(recording) == self.recording_sha256
            and selfie is not None
            and self.selfie_sha256 == hashlib.sha256(selfie).hexdigest()
        )


def recording_digest(recording: Mapping[str, Any]) -> str:
    """The sha256 of a stored recording's nonce, start, arrival and frames (as received)."""
    keys = ("nonce", "started_at", "received_at", "frames")
    text = json.dumps([recording.get(key) for key in keys], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        arrival: Arrival | None = None,
        recording: Mapping[str, Any] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.challenge = challenge
        self.frames = frames
        self.now = now
        self.arrival = arrival  # with the stored ``recording`` that ``frames`` decode
        self.recording = recording
        self.verdict: Verdict | None = None
        self.arrival_reused = False  # set by verify: the arrival's evaluation stood

    def verify(self, document: DocumentType, shots: Mapping[Shot, bytes]) -> VerifierOutcome:
        """Run the pipeline; an undecodable shot is a rejection, not an exception.

        The recording's evaluation on arrival is handed to the pipeline when it was made
        with the selfie in ``shots`` (``Arrival.stands_for``); otherwise the pipeline
        evaluates the recording.
        """
        arrival, recording = self.arrival, self.recording
        selfie = shots.get(Shot.SELFIE)
        reuse = (arrival is not None and recording is not None and self.frames is not None
                 and arrival.stands_for(self.challenge, recording, selfie))  # fmt: skip
        kwargs: dict[str, Any] = {"active": arrival.result} if reuse and arrival else {}
        try:
            verdict = self.pipeline.verify(
                document,
                {shot.value: data for shot, data in shots.items()},
                challenge=self.challenge,
                frames=self.frames,
                now=self.now,
                **kwargs,
            )
        except (InputError, StepNotAllowed) as error:
            return VerifierOutcome(Decision.REJECT, (error.code,), models=())
        self.verdict = verdict
        self.arrival_reused = reuse
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
