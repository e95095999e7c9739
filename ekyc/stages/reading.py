"""OCR of the card's key fields; the cross-check with the application, or the expiry alone."""

from __future__ import annotations

import datetime as dt

from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.read import Applicant, FieldName, LineReader, cross_check, read_fields
from ekyc.types import Side
from ekyc.verdict import ReasonCode

__all__ = ["reading_stage"]


def reading_stage(findings: DocumentFindings, applicant: Applicant | None, today: dt.date,
                  reader: LineReader | None, evidence: Evidence) -> None:  # fmt: skip
    """Read the fields; compare with ``applicant`` when given, else check the expiry."""
    if findings.card_image is None:
        return  # the document stages already said why
    with evidence.timed("ocr"):
        reads = read_fields(findings.card_image, findings.document_type, Side.FRONT,
                            reader=reader)  # fmt: skip
    evidence.check("ocr", fields={
        r.field.value: {"text": r.raw_text, "value": str(r.value),
                        "confidence": round(r.confidence, 3)}
        for r in reads.fields})  # fmt: skip
    if applicant is not None:
        check = cross_check(reads, applicant, today)
        evidence.check("cross_check", expired=check.expired, fields={
            c.field.value: {"outcome": c.outcome.value, "rule": c.rule,
                            "similarity": c.similarity}
            for c in check.checks})  # fmt: skip
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
