"""The liveness vocabulary: challenge actions, stable reason codes, and the result object.

Why codes and not sentences: the loan workflow, the review UI and the audit log branch on
``Reason`` values, so a value is a contract (add codes, never rename them). Each code's
docstring-like comment says what the check saw.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime

from ekyc.types import ModelRef

__all__ = ["Action", "AttackType", "Challenge", "LivenessResult", "Reason"]


class Action(enum.Enum):
    """One thing the applicant is asked to do in front of the camera.

    Directions are in the terms of the frames as submitted: ``TURN_LEFT`` moves the face
    towards the image's left edge. The app shows a mirrored preview and sends frames
    mirrored the same way, so "left" on the screen is left in the frame.
    """

    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"
    BLINK = "blink"
    OPEN_MOUTH = "open_mouth"

    @property
    def is_pose(self) -> bool:
        """Head-pose actions are never done by accident, unlike a spontaneous blink."""
        return self in (Action.TURN_LEFT, Action.TURN_RIGHT, Action.LOOK_UP)


class Reason(enum.Enum):
    """Stable codes for why a liveness check said no (or could not judge)."""

    CHALLENGE_EXPIRED = "CHALLENGE_EXPIRED"  # evaluated after the expiry
    NONCE_MISMATCH = "NONCE_MISMATCH"  # frames bound to another challenge
    BAD_TIMESTAMPS = "BAD_TIMESTAMPS"  # not increasing, or outside the challenge window
    TOO_FEW_FRAMES = "TOO_FEW_FRAMES"  # too short to show the actions
    NO_FACE = "NO_FACE"  # the face was lost in too many frames
    STATIC_SEQUENCE = "STATIC_SEQUENCE"  # no motion: one still image repeated
    ACTION_MISSING = "ACTION_MISSING"  # a requested action never happened
    ACTIONS_OUT_OF_ORDER = "ACTIONS_OUT_OF_ORDER"  # all there, wrong order or extra ones
    ACTION_TOO_SLOW = "ACTION_TOO_SLOW"  # an action came after its time limit
    FACE_CHANGED = "FACE_CHANGED"  # not the same person throughout
    SELFIE_NOT_IN_SEQUENCE = "SELFIE_NOT_IN_SEQUENCE"  # the still is not one of the frames
    PRESENTATION_ATTACK = "PRESENTATION_ATTACK"  # passive model: print or screen
    CARD_PORTRAIT_REUSED = "CARD_PORTRAIT_REUSED"  # the selfie is the ID card's photo
    METADATA_INCONSISTENT = "METADATA_INCONSISTENT"  # capture time/device jumps
    IMAGE_SEEN_BEFORE = "IMAGE_SEEN_BEFORE"  # near-duplicate of another session's image
    # Why a requested action could not be seen, beside ACTION_MISSING / NO_FACE: the app
    # should ask for a new challenge with the advice, not judge the person not live.
    FACE_TURNED_AT_REST = "FACE_TURNED_AT_REST"  # too turned at rest to judge head poses
    EYES_NOT_OPEN = "EYES_NOT_OPEN"  # eyes barely open at rest: a blink cannot show
    MOUTH_OPEN_AT_REST = "MOUTH_OPEN_AT_REST"  # already open at rest: opening unreadable


class AttackType(enum.Enum):
    """The presentation-attack species (ISO/IEC 30107-3 term) a failed check points to."""

    PRINT = "print"
    SCREEN_REPLAY = "screen_replay"
    CARD_PORTRAIT = "card_portrait"
    STATIC_IMAGE = "static_image"
    REPLAYED_SEQUENCE = "replayed_sequence"
    INJECTION = "injection"


@dataclass(frozen=True, slots=True)
class Challenge:
    """A random action sequence issued to one session; frames must echo its nonce.

    Attributes:
        actions: 2-3 actions to perform in this order.
        nonce: Random hex string; the client embeds it with the frames it sends, so frames
            recorded for another challenge are refused.
        issued_at: When the server issued it (timezone-aware).
        expires_at: No evaluation after this instant.
        action_timeout_ms: The longest allowed gap between two consecutive actions.
    """

    actions: tuple[Action, ...]
    nonce: str
    issued_at: datetime
    expires_at: datetime
    action_timeout_ms: float = 5000.0

    def __post_init__(self) -> None:
        if not 1 <= len(self.actions) <= 5 or not all(isinstance(a, Action) for a in self.actions):
            raise ValueError(f"actions must be 1-5 Action values, got {self.actions!r}")
        if len(self.nonce) < 16 or any(c not in "0123456789abcdef" for c in self.nonce):
            raise ValueError(f"nonce must be >= 16 lowercase hex digits, got {self.nonce!r}")
        if self.issued_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValueError("issued_at and expires_at must be timezone-aware")
        if not self.expires_at > self.issued_at:
            raise ValueError(f"expires_at {self.expires_at} is not after {self.issued_at}")
        if not self.action_timeout_ms > 0:
            raise ValueError(f"action_timeout_ms must be > 0, got {self.action_timeout_ms}")

    def to_dict(self) -> dict[str, object]:
        """The JSON form the app receives and ``ekyc liveness --challenge`` reads."""
        return {
            "actions": [a.value for a in self.actions],
            "nonce": self.nonce,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "action_timeout_ms": self.action_timeout_ms,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Challenge:
        """Inverse of ``to_dict``; ``ValueError`` on anything malformed."""
        try:
            actions = tuple(Action(str(a)) for a in raw["actions"])  # type: ignore[attr-defined]
            return cls(
                actions=actions,
                nonce=str(raw["nonce"]),
                issued_at=datetime.fromisoformat(str(raw["issued_at"])),
                expires_at=datetime.fromisoformat(str(raw["expires_at"])),
                action_timeout_ms=float(raw.get("action_timeout_ms", 5000.0)),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed challenge: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """The outcome of one liveness check: ``live`` iff no reason was found.

    Attributes:
        live: True when the check passed.
        score: Higher means more likely live; on the scale of ``threshold``.
        threshold: ``live`` needs ``score >= threshold`` (and no other reason).
        reasons: Stable codes of every failed aspect, in the order they were checked.
        attack_type: The attack species the evidence points to, if any.
        models: The models that produced the evidence (id + sha256).
        details: Measured values behind the decision, for the reviewer (names carry units).
    """

    live: bool
    score: float
    threshold: float
    reasons: tuple[Reason, ...] = ()
    attack_type: AttackType | None = None
    models: tuple[ModelRef, ...] = ()
    details: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.score) and math.isfinite(self.threshold)):
            raise ValueError(
                f"score and threshold must be finite, got {self.score}, {self.threshold}"
            )
        if not all(isinstance(r, Reason) for r in self.reasons):
            raise ValueError(f"reasons must be Reason values, got {self.reasons!r}")
        if self.live and self.reasons:
            raise ValueError(f"a live result carries no reasons, got {self.reasons}")
        if self.live and self.attack_type is not None:
            raise ValueError("a live result has no attack_type")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (enum values as strings)."""
        return {
            "live": self.live,
            "score": round(self.score, 6),
            "threshold": round(self.threshold, 6),
            "reasons": [r.value for r in self.reasons],
            "attack_type": self.attack_type.value if self.attack_type else None,
            "models": [{"id": m.id, "sha256": m.sha256} for m in self.models],
            "details": {k: round(v, 6) for k, v in self.details.items()},
        }

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> LivenessResult:
        """Inverse of ``to_dict``; ``ValueError`` on anything malformed.

        For a result kept as JSON between two requests: its ``to_dict`` is the kept one.
        """
        try:
            models = tuple(
                ModelRef(str(m["id"]), str(m["sha256"]))
                for m in raw["models"]  # type: ignore[attr-defined]
            )
            attack = raw.get("attack_type")
            return cls(
                live=bool(raw["live"]),
                score=float(raw["score"]),  # type: ignore[arg-type]
                threshold=float(raw["threshold"]),  # type: ignore[arg-type]
                reasons=tuple(Reason(str(r)) for r in raw["reasons"]),  # type: ignore[attr-defined]
                attack_type=AttackType(str(attack)) if attack is not None else None,
                models=models,
                details={str(k): float(v) for k, v in raw["details"].items()},  # type: ignore[attr-defined]
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed liveness result: {exc!r}") from exc
