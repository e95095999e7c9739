"""The reading stage: a field hidden on the front is read again, and on the tilted shot."""

from __future__ import annotations

import datetime as dt

import cv2
import numpy as np
import pytest

from benchmarks.synth.cards import render_card
from benchmarks.synth.identity import make_identity
from ekyc.methods.base import DocumentFindings, Evidence
from ekyc.read import Applicant, LineReader
from ekyc.read.fields import FIELD_REGIONS, FieldName, field_regions
from ekyc.stages import field_groups, join_readings, read_card_image, reading_stage
from ekyc.types import DocumentType, Side

_DOC = DocumentType.DRIVERS_LICENSE
_TODAY = dt.date(2025, 11, 1)
_PPM = 10.0


def _card(seed: int) -> tuple[np.ndarray, Applicant]:
    ident = make_identity(seed, _DOC)
    card = np.array(render_card(_DOC, Side.FRONT, ident, None, _PPM).image[..., :3])
    applicant = Applicant(ident.family_kanji, ident.given_kanji, ident.birth, ident.address)
    return card, applicant


def _cover(card: np.ndarray, field: FieldName) -> np.ndarray:
    """The field's region painted over, as a thumb would hide it."""
    region = next(r for r in field_regions(_DOC, Side.FRONT) if r.field is field)
    x0, y0, x1, y1 = (round(v * _PPM) for v in region.rect_mm)
    covered = card.copy()
    cv2.rectangle(covered, (x0, y0), (x1, y1), (150, 110, 90), -1)
    return covered


def _stage(findings: DocumentFindings, applicant: Applicant, reader: LineReader) -> Evidence:
    evidence = Evidence()
    reading_stage(findings, applicant, _TODAY, reader, evidence)
    return evidence


def test_a_field_hidden_on_the_front_is_read_on_the_tilted_shot(reader) -> None:
    card, applicant = _card(4)
    front = _cover(card, FieldName.BIRTH_DATE)
    alone = _stage(DocumentFindings(front, front, _DOC), applicant, reader)
    assert [r.code.value for r in alone.reasons] == ["FIELD_UNREADABLE"]
    both = _stage(DocumentFindings(front, front, _DOC, other_views=(card,)), applicant, reader)
    assert both.reasons == []
    birth = both.checks["cross_check"]["fields"]["birth_date"]
    assert (birth["outcome"], birth["view"]) == ("match", "tilt")
    # Only the unsettled field was read again, and every second read is in the evidence.
    assert {read["field"] for read in both.checks["ocr"]["again"]} == {"birth_date"}
    assert "ocr.again" in both.timings_ms


def test_another_card_on_the_tilted_shot_does_not_lend_its_fields(reader) -> None:
    card, applicant = _card(4)
    other, _ = _card(5)
    front = _cover(card, FieldName.NAME)
    evidence = _stage(DocumentFindings(front, front, _DOC, other_views=(other,)), applicant, reader)
    name = evidence.checks["cross_check"]["fields"]["name"]
    # The covered front reads nothing; the other card's clear read of its name is a mismatch.
    assert name["outcome"] in {"mismatch", "unreadable"}
    assert {r.code.value for r in evidence.reasons} & {"NAME_MISMATCH", "FIELD_UNREADABLE"}
    assert any(read["view"] == "tilt" for read in evidence.checks["ocr"]["again"])


@pytest.mark.parametrize(
    "doc", sorted({doc for doc, side in FIELD_REGIONS if side is Side.FRONT}, key=str)
)
def test_field_groups_hold_each_front_field_once(doc: DocumentType) -> None:
    fields = [r.field for r in field_regions(doc, Side.FRONT)]
    for n in (1, 2, 3):
        groups = field_groups(doc, n)
        assert len(groups) == min(n, len(fields))
        assert sorted(f.value for g in groups for f in g) == sorted(f.value for f in fields)


def test_fields_read_in_groups_on_two_threads_join_to_the_whole_reading(reader) -> None:
    from concurrent.futures import ThreadPoolExecutor

    card, _ = _card(31)
    whole = read_card_image(card, _DOC, reader)
    groups = field_groups(_DOC, 2)
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda g: read_card_image(card, _DOC, reader, only=g), groups))
    joined = join_readings(parts)
    assert [f.field for f in joined.reads.fields] == [f.field for f in whole.reads.fields]
    assert [(f.raw_text, f.confidence, f.box) for f in joined.reads.fields] == [
        (f.raw_text, f.confidence, f.box) for f in whole.reads.fields
    ]
