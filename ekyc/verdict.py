"""The outcome of a verification: a decision, the reasons for it, and the evidence behind it.

Reasons are stable codes (``ReasonCode``): the loan front end, the reviewer CLI and the
daemon's clients switch on them, so codes are only ever added, never renamed. Each code has
a fixed severity: one REJECT-severity reason rejects, otherwise one REVIEW-severity reason
sends the case to a person, otherwise the verification is accepted.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ekyc.types import ModelRef

__all__ = ["Decision", "Reason", "ReasonCode", "Verdict", "decide"]


class Decision(enum.Enum):
    """What happens to the application's identity check."""

    ACCEPT = "accept"
    REVIEW = "review"
    REJECT = "reject"


class ReasonCode(enum.Enum):
    """Why a verification was not simply accepted. Value = the stable code string."""

    DOCUMENT_NOT_ACCEPTED = "DOCUMENT_NOT_ACCEPTED"
    WRONG_DOCUMENT_TYPE = "WRONG_DOCUMENT_TYPE"
    LAYOUT_NOT_RECOGNISED = "LAYOUT_NOT_RECOGNISED"
    WRONG_SIDE = "WRONG_SIDE"
    CARD_NOT_FOUND = "CARD_NOT_FOUND"
    CARD_CUT_OFF = "CARD_CUT_OFF"
    POOR_QUALITY = "POOR_QUALITY"
    GLARE_ON_FIELDS = "GLARE_ON_FIELDS"
    TILT_NOT_SHOWN = "TILT_NOT_SHOWN"
    FLAT_REPRODUCTION = "FLAT_REPRODUCTION"
    DIFFERENT_CARD = "DIFFERENT_CARD"
    DOCUMENT_EXPIRED = "DOCUMENT_EXPIRED"
    NO_FACE_ON_CARD = "NO_FACE_ON_CARD"
    NO_FACE_IN_SELFIE = "NO_FACE_IN_SELFIE"
    SELFIE_QUALITY = "SELFIE_QUALITY"
    FACE_MISMATCH = "FACE_MISMATCH"
    FACE_MATCH_UNCERTAIN = "FACE_MATCH_UNCERTAIN"
    NOT_LIVE = "NOT_LIVE"
    LIVENESS_NOT_PROVEN = "LIVENESS_NOT_PROVEN"
    PASSIVE_ATTACK_SUSPECTED = "PASSIVE_ATTACK_SUSPECTED"
    SELFIE_IS_CARD_PORTRAIT = "SELFIE_IS_CARD_PORTRAIT"
    INJECTION_SUSPECTED = "INJECTION_SUSPECTED"
    NAME_MISMATCH = "NAME_MISMATCH"
    BIRTH_DATE_MISMATCH = "BIRTH_DATE_MISMATCH"
    ADDRESS_MISMATCH = "ADDRESS_MISMATCH"
    LICENSE_NUMBER_MISMATCH = "LICENSE_NUMBER_MISMATCH"
    FIELD_UNREADABLE = "FIELD_UNREADABLE"
    KEY_FIELDS_ILLEGIBLE = "KEY_FIELDS_ILLEGIBLE"

    @property
    def severity(self) -> Decision:
        """REJECT or REVIEW: what this reason alone does to the decision."""
        return _SEVERITY[self]

    @property
    def message(self) -> str:
        """English and Japanese text for people (front end, reviewer)."""
        return _MESSAGES[self]


_REVIEW = frozenset({
    ReasonCode.LAYOUT_NOT_RECOGNISED,
    ReasonCode.GLARE_ON_FIELDS,
    ReasonCode.FACE_MATCH_UNCERTAIN,
    ReasonCode.LIVENESS_NOT_PROVEN,
    ReasonCode.PASSIVE_ATTACK_SUSPECTED,
    ReasonCode.INJECTION_SUSPECTED,
    ReasonCode.NAME_MISMATCH,
    ReasonCode.ADDRESS_MISMATCH,
    ReasonCode.LICENSE_NUMBER_MISMATCH,
    ReasonCode.FIELD_UNREADABLE,
    ReasonCode.KEY_FIELDS_ILLEGIBLE,
})  # fmt: skip
_SEVERITY = {code: Decision.REVIEW if code in _REVIEW else Decision.REJECT for code in ReasonCode}

_MESSAGES: dict[ReasonCode, str] = {
    ReasonCode.DOCUMENT_NOT_ACCEPTED: "This document cannot be used for a loan "
    "(本人確認書類として利用できません)",
    ReasonCode.WRONG_DOCUMENT_TYPE: "The card is not the document chosen "
    "(選択した書類と異なります)",
    ReasonCode.LAYOUT_NOT_RECOGNISED: "The card's layout was not recognised: a person "
    "should look (書類の様式を確認できません)",
    ReasonCode.WRONG_SIDE: "The wrong side of the card was shown (表裏が違います)",
    ReasonCode.CARD_NOT_FOUND: "No card was found in the shot (書類が写っていません)",
    ReasonCode.CARD_CUT_OFF: "The card is partly outside the shot (書類全体が写っていません)",
    ReasonCode.POOR_QUALITY: "The shot is blurred, dark or too small (画像が不鮮明です)",
    ReasonCode.GLARE_ON_FIELDS: "Glare hides part of the card (光の反射で読み取れません)",
    ReasonCode.TILT_NOT_SHOWN: "The tilted shot is not at about 45 degrees "
    "(斜め45度から撮影してください)",
    ReasonCode.FLAT_REPRODUCTION: "The card shows no thickness: a copy or a screen "
    "(書類の厚みが確認できません)",
    ReasonCode.DIFFERENT_CARD: "The shots show different cards (同一の書類ではありません)",
    ReasonCode.DOCUMENT_EXPIRED: "The document has expired (有効期限が切れています)",
    ReasonCode.NO_FACE_ON_CARD: "No portrait was found on the card (顔写真が確認できません)",
    ReasonCode.NO_FACE_IN_SELFIE: "No single face was found in the selfie (顔が確認できません)",
    ReasonCode.SELFIE_QUALITY: "The selfie is too small, turned or blurred (顔写真が不鮮明です)",
    ReasonCode.FACE_MISMATCH: "The selfie does not match the card's portrait "
    "(顔写真が一致しません)",
    ReasonCode.FACE_MATCH_UNCERTAIN: "The selfie is close to the card's portrait but not close "
    "enough to accept: a person should look (顔写真の一致を確認できません)",
    ReasonCode.NOT_LIVE: "The selfie is not of a live person (生体確認に失敗しました)",
    ReasonCode.LIVENESS_NOT_PROVEN: "Liveness was not shown by a challenge "
    "(生体確認が完了していません)",
    ReasonCode.PASSIVE_ATTACK_SUSPECTED: "The selfie looks like a print or a screen: a person "
    "should look (なりすましの疑いがあります)",
    ReasonCode.SELFIE_IS_CARD_PORTRAIT: "The selfie is the card's own portrait "
    "(書類の顔写真が撮影されています)",
    ReasonCode.INJECTION_SUSPECTED: "The shots do not look like one live capture session "
    "(撮影情報に不整合があります)",
    ReasonCode.NAME_MISMATCH: "The name differs from the application (氏名が一致しません)",
    ReasonCode.BIRTH_DATE_MISMATCH: "The date of birth differs from the application "
    "(生年月日が一致しません)",
    ReasonCode.ADDRESS_MISMATCH: "The address differs from the application (住所が一致しません)",
    ReasonCode.LICENSE_NUMBER_MISMATCH: "The licence number differs from the application "
    "(免許証番号が一致しません)",
    ReasonCode.FIELD_UNREADABLE: "A field of the card could not be read (記載事項が読み取れません)",
    ReasonCode.KEY_FIELDS_ILLEGIBLE: "The name or date of birth on the card cannot be read "
    "clearly (氏名・生年月日が読み取れません)",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, with the stage that raised it and optional detail for the reviewer."""

    code: ReasonCode
    stage: str
    detail: str = ""

    @property
    def message(self) -> str:
        """The code's message, plus the detail when there is one."""
        return f"{self.code.message}: {self.detail}" if self.detail else self.code.message


def decide(reasons: Iterable[Reason]) -> Decision:
    """REJECT if any reason rejects, else REVIEW if any asks for a person, else ACCEPT."""
    severities = {reason.code.severity for reason in reasons}
    if Decision.REJECT in severities:
        return Decision.REJECT
    if Decision.REVIEW in severities:
        return Decision.REVIEW
    return Decision.ACCEPT


@dataclass(frozen=True, slots=True)
class Verdict:
    """A verification's outcome and everything a reviewer needs to re-decide it.

    Attributes:
        decision: ``decide(reasons)``; validated to agree.
        reasons: Why, in the order the stages raised them.
        method: Which verification method ran (e.g. ``"image"``, later ``"ic_chip"``).
        checks: Evidence by stage: JSON-ready numbers, booleans and strings (quads, scores,
            thresholds, OCR text with confidences). Never image bytes, never personal numbers.
        models: Every model that contributed (id + sha256), for reproducible re-runs.
        inputs_sha256: sha256 of every input image, by shot name.
        timings_ms: Wall time per stage.
        document: The document type the applicant chose (``DocumentType`` value).
    """

    decision: Decision
    reasons: tuple[Reason, ...]
    method: str
    checks: Mapping[str, Any] = field(default_factory=dict)
    models: tuple[ModelRef, ...] = ()
    inputs_sha256: Mapping[str, str] = field(default_factory=dict)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    document: str = ""

    def __post_init__(self) -> None:
        expected = decide(self.reasons)
        if self.decision is not expected:
            raise ValueError(
                f"decision {self.decision.value} contradicts the reasons "
                f"(they give {expected.value})"
            )
        for name in ("checks", "inputs_sha256", "timings_ms"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def codes(self) -> tuple[str, ...]:
        """The reason codes as strings, in order, without repeats."""
        return tuple(dict.fromkeys(reason.code.value for reason in self.reasons))

    def to_json(self) -> dict[str, Any]:
        """The ``ekyc verify --json`` object (a contract: add fields, never rename)."""
        return {
            "decision": self.decision.value,
            "document": self.document,
            "reasons": [
                {"code": r.code.value, "message": r.message, "stage": r.stage} for r in self.reasons
            ],
            "method": self.method,
            "checks": dict(self.checks),
            "models": [{"id": m.id, "sha256": m.sha256} for m in self.models],
            "inputs_sha256": dict(self.inputs_sha256),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
