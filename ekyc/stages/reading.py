"""OCR of the card's key fields; the cross-check with the application, or the expiry alone."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.read import Applicant, FieldName, FieldReads, LineReader, cross_check, read_fields
from ekyc.types import Side
from ekyc.verdict import ReasonCode

__all__ = ["CardReading", "read_card", "reading_stage"]


@dataclass(frozen=True, slots=True, eq=False)
class CardReading:
    """``read_card``'s result: the fields read, and how long the reading took."""

    reads: FieldReads
    ms: float


def read_card(findings: DocumentFindings, reader: LineReader | None) -> CardReading | None:
    """OCR of the card's key fields (None without a card); records nothing."""
    if findings.card_image is None:
        return None
    start = time.perf_counter()
    reads = read_fields(findings.card_image, findings.document_type, Side.FRONT, reader=reader)
    return CardReading(reads, (time.perf_counter() - start) * 1000.0)


def reading_stage(findings: DocumentFindings, applicant: Applicant | None, today: dt.date,
                  reader: LineReader | None, evidence: Evidence,
                  reading: CardReading | None = None) -> None:  # fmt: skip
    """Read the fields; compare with ``applicant`` when given, else check the expiry.

    ``reading`` is ``read_card``'s result when the pipeline read the card beforehand.
    """
    if reading is None:
        reading = read_card(findings, reader)
    if reading is None:
        return  # the document stages already said why
    evidence.timing("ocr", reading.ms)
    reads = reading.reads
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
