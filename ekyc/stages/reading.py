"""OCR of the card's key fields; the cross-check with the application, or the expiry alone.

A field that does not match (or a date that does not parse) is read again before anything
is concluded: on the front the other way (flattened where it was read plain first, plain
where flattened: ``ekyc.read.ocr.FLATTENED_FIRST``), then on the other views of the same
card (the tilted shot), first way then the other, each pass reading only the fields still
unsettled. Fingers, glare and shadows rarely cover the same field on two shots. Reads that
settle everything cost nothing more.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.read import (
    Applicant,
    CrossCheck,
    FieldName,
    FieldReads,
    LineReader,
    Outcome,
    cross_check,
    field_regions,
    read_fields,
)
from ekyc.read.ocr import flattened
from ekyc.types import DocumentType, RGBImage, Side
from ekyc.verdict import ReasonCode

__all__ = [
    "CardReading",
    "field_groups",
    "join_readings",
    "read_card",
    "read_card_image",
    "reading_stage",
]


@dataclass(frozen=True, slots=True, eq=False)
class CardReading:
    """``read_card``'s result: the fields read, and how long the reading took."""

    reads: FieldReads
    ms: float


def read_card(findings: DocumentFindings, reader: LineReader | None) -> CardReading | None:
    """OCR of the card's key fields (None without a card); records nothing."""
    if findings.card_image is None:
        return None
    return read_card_image(findings.card_image, findings.document_type, reader)


def read_card_image(card_image: RGBImage, document_type: DocumentType,
                    reader: LineReader | None,
                    only: Collection[FieldName] | None = None) -> CardReading:  # fmt: skip
    """``read_card`` of the rectified front before the findings are in (another thread).

    ``only``: read just these fields (one of ``field_groups``).
    """
    start = time.perf_counter()
    reads = read_fields(card_image, document_type, Side.FRONT, reader=reader, only=only)
    return CardReading(reads, (time.perf_counter() - start) * 1000.0)


def field_groups(document_type: DocumentType, n: int) -> list[frozenset[FieldName]]:
    """The front's key fields in ``n`` groups of about equal OCR work, to read at once.

    A line's work grows with its width once scaled to the reader's glyph height (the
    region's width over its text size); the widest lines are dealt out first, each to the
    lightest group. Each field is read exactly as when all are read together (a line is
    read, and read again when unsure, on its own), so ``join_readings`` of the groups'
    readings is the reading of the whole card.
    """
    work = sorted(field_regions(document_type, Side.FRONT),
                  key=lambda r: -(r.rect_mm[2] - r.rect_mm[0]) / r.text_mm)  # fmt: skip
    groups: list[tuple[float, set[FieldName]]] = [(0.0, set()) for _ in range(max(1, n))]
    for region in work:
        i = min(range(len(groups)), key=lambda k: groups[k][0])
        load, fields = groups[i]
        fields.add(region.field)
        groups[i] = (load + (region.rect_mm[2] - region.rect_mm[0]) / region.text_mm, fields)
    return [frozenset(fields) for _, fields in groups if fields]


def join_readings(parts: Sequence[CardReading]) -> CardReading:
    """One reading of the card from its groups' (``field_groups``), fields in card order."""
    if not parts:
        raise ValueError("no readings to join")
    first = parts[0].reads
    order = [r.field for r in field_regions(first.document_type, first.side)]
    fields = sorted((f for part in parts for f in part.reads.fields),
                    key=lambda f: order.index(f.field))  # fmt: skip
    reads = FieldReads(first.document_type, first.side, tuple(fields),
                       sum(part.reads.elapsed_ms for part in parts))  # fmt: skip
    return CardReading(reads, sum(part.ms for part in parts))


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
    more: list[FieldReads] = []
    if applicant is not None:
        check = cross_check(reads, applicant, today)
        for image, view, second in _second_views(findings):
            if not _unsettled(check):
                break
            more += _read_again(findings, image, view, second, _unsettled(check), reader)
            check = cross_check(reads, applicant, today, more)
        _record_reads(evidence, reads, more)
        evidence.check("cross_check", expired=check.expired, fields={
            c.field.value: {"outcome": c.outcome.value, "rule": c.rule,
                            "similarity": c.similarity, "view": c.read.view}
            for c in check.checks})  # fmt: skip
        for code in check.reasons:
            evidence.reason(code, "cross_check")
        return
    expiry = reads.get(FieldName.EXPIRY_DATE)
    if expiry is None:
        _record_reads(evidence, reads, more)
        return  # this document prints no expiry
    for image, view, second in _second_views(findings):
        if isinstance(expiry.value, dt.date):
            break
        more += _read_again(findings, image, view, second, {expiry.field}, reader)
        expiry = more[-1].get(FieldName.EXPIRY_DATE) or expiry
    _record_reads(evidence, reads, more)
    if not isinstance(expiry.value, dt.date):
        evidence.reason(ReasonCode.FIELD_UNREADABLE, "ocr", "expiry date")
    elif today > expiry.value:
        evidence.reason(ReasonCode.DOCUMENT_EXPIRED, "ocr", expiry.value.isoformat())


def _unsettled(check: CrossCheck) -> set[FieldName]:
    """Fields a second read could still settle: unmatched ones, an expiry without a date."""
    fields = {c.field for c in check.checks if c.outcome is not Outcome.MATCH}
    return fields | ({FieldName.EXPIRY_DATE} if check.expiry_date is None else set())


def _second_views(findings: DocumentFindings) -> list[tuple[RGBImage, str, bool]]:
    """(image, view name, the other way) for each second read, in the order they are tried."""
    views: list[tuple[RGBImage, str, bool]] = []
    if findings.card_image is not None:
        views.append((findings.card_image, "front", True))
    for image in findings.other_views:
        views += [(image, "tilt", False), (image, "tilt", True)]
    return views


def _read_again(findings: DocumentFindings, image: RGBImage, view: str, second: bool,
                fields: set[FieldName], reader: LineReader | None) -> list[FieldReads]:  # fmt: skip
    """``fields`` read on ``image``, each its first way or (``second``) the other way."""
    ways = {flat: {f for f in fields if flattened(f, second) is flat} for flat in (False, True)}
    return [
        read_fields(
            image,
            findings.document_type,
            Side.FRONT,
            reader=reader,
            only=group,
            flatten=flat,
            view=view,
        )
        for flat, group in ways.items()
        if group
    ]


def _record_reads(evidence: Evidence, reads: FieldReads, more: list[FieldReads]) -> None:
    evidence.check("ocr", fields={
        r.field.value: {"text": r.raw_text, "value": str(r.value),
                        "confidence": round(r.confidence, 3)}
        for r in reads.fields}, again=[
        {"view": r.view, "field": r.field.value, "text": r.raw_text, "value": str(r.value),
         "confidence": round(r.confidence, 3)}
        for again in more for r in again.fields])  # fmt: skip
    if more:
        evidence.timing("ocr.again", sum(again.elapsed_ms for again in more))
