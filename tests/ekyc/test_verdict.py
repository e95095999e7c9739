from __future__ import annotations

import pytest

from ekyc.rules import DOCUMENT_RULES, rule_for
from ekyc.types import DocumentType, ModelRef, Shot
from ekyc.verdict import Decision, Reason, ReasonCode, Verdict, decide


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((), Decision.ACCEPT),
        ((ReasonCode.LIVENESS_NOT_PROVEN,), Decision.REVIEW),
        ((ReasonCode.NAME_MISMATCH, ReasonCode.GLARE_ON_FIELDS), Decision.REVIEW),
        ((ReasonCode.LIVENESS_NOT_PROVEN, ReasonCode.FACE_MISMATCH), Decision.REJECT),
        ((ReasonCode.FACE_MATCH_UNCERTAIN,), Decision.REVIEW),
        ((ReasonCode.FACE_MATCH_UNCERTAIN, ReasonCode.NOT_LIVE), Decision.REJECT),
        ((ReasonCode.DOCUMENT_EXPIRED,), Decision.REJECT),
    ],
)
def test_decide(codes, expected):
    assert decide(Reason(code, "test") for code in codes) is expected


def test_every_code_has_a_message_in_both_languages():
    for code in ReasonCode:
        assert code.value == code.name
        assert code.severity in (Decision.REVIEW, Decision.REJECT)
        assert "(" in code.message  # English, then the Japanese in brackets


def test_verdict_refuses_a_contradicting_decision():
    with pytest.raises(ValueError, match="contradicts"):
        Verdict(Decision.ACCEPT, (Reason(ReasonCode.FACE_MISMATCH, "match"),), "image")


def test_verdict_json_contract():
    verdict = Verdict(
        Decision.REVIEW,
        (
            Reason(ReasonCode.LIVENESS_NOT_PROVEN, "liveness", "no frames"),
            Reason(ReasonCode.LIVENESS_NOT_PROVEN, "liveness"),
        ),
        "image",
        checks={"match": {"similarity": 0.7}},
        models=(ModelRef("face-embed/x@1", "a" * 64),),
        inputs_sha256={"front": "b" * 64},
        timings_ms={"match": 12.3456},
    )
    record = verdict.to_json()
    assert set(record) >= {"decision", "reasons", "checks", "models", "timings_ms"}
    assert record["decision"] == "review"
    assert record["reasons"][0]["code"] == "LIVENESS_NOT_PROVEN"
    assert record["reasons"][0]["message"].endswith(": no frames")
    assert record["models"] == [{"id": "face-embed/x@1", "sha256": "a" * 64}]
    assert record["timings_ms"] == {"match": 12.35}
    assert verdict.codes == ("LIVENESS_NOT_PROVEN",)
    with pytest.raises(TypeError):
        verdict.checks["new"] = 1  # type: ignore[index]


def test_document_rules_table():
    assert set(DOCUMENT_RULES) == set(DocumentType)
    assert Shot.BACK not in rule_for(DocumentType.MY_NUMBER_CARD).shots
    for doc in (DocumentType.DRIVERS_LICENSE, DocumentType.RESIDENCE_CARD):
        assert rule_for(doc).shots == (Shot.FRONT, Shot.TILT, Shot.BACK, Shot.SELFIE)
    for doc in (DocumentType.HEALTH_INSURANCE_CARD, DocumentType.PASSPORT):
        assert not rule_for(doc).accepted
        assert rule_for(doc).refusal
