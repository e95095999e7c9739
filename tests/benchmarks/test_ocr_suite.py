"""benchmarks/ocr.py: retaken scenes are the shots the capture app sends."""

from __future__ import annotations

from benchmarks.ocr import card_images, wanted
from ekyc.read.fields import FieldName
from ekyc.types import DocumentType


def test_a_retaken_scene_passes_the_capture_gate() -> None:
    doc, size = DocumentType.DRIVERS_LICENSE, (1280, 720)
    assert not card_images("scene", doc, 40000, 10.0, size)[2]  # the one-shot scene fails
    image, ident, passed = card_images("scene", doc, 40000, 10.0, size, retake=True)
    assert passed
    assert image.shape[:2] == (round(53.98 * 10), round(85.60 * 10))
    assert wanted(FieldName.BIRTH_DATE, ident) == ident.birth
    assert wanted(FieldName.NAME, ident) == ident.name.replace(" ", "").replace("　", "")
    # The daemon's key-field gate is obeyed JUDGED_RETAKES times at most, then the shot kept.
    from loanflow.ekyc_session import JUDGED_RETAKES

    seen: list[int] = []
    asked: list[int] = []

    def gate(image: object) -> bool:  # asks for every shot again
        seen.append(1)
        return True

    _, _, kept = card_images("scene", doc, 40000, 10.0, size, retake=True, gate=gate, asked=asked)
    assert kept
    assert len(asked) == JUDGED_RETAKES == len(seen)
    assert asked == sorted(set(asked))  # each retake a new render


def test_exact_reads_count_the_first_read_and_any_second_read() -> None:
    import datetime as dt

    from benchmarks.ocr import exact_reads
    from ekyc.methods.base import Evidence
    from ekyc.read.applicant import Applicant

    mine = Applicant("山田", "太郎", dt.date(1980, 1, 2), "東京都千代田区霞が関1-2-3")
    evidence = Evidence()
    first = {"name": {"value": "山田大郎"}, "birth_date": {"value": "1980-01-02"}}
    again = [{"field": "name", "value": "山田太郎"}, {"field": "birth_date", "value": "1980-01-03"}]
    evidence.check("ocr", fields=first, again=again)
    assert exact_reads(evidence, mine) == {"name": (False, True), "birth_date": (True, True)}
