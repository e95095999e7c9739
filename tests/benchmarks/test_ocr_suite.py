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
