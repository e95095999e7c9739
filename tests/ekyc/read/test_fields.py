from __future__ import annotations

import pytest

from benchmarks.synth.cards import render_card
from benchmarks.synth.identity import make_identity
from ekyc.errors import StepNotAllowed
from ekyc.read.fields import FIELD_REGIONS, FieldName, field_regions
from ekyc.read.ocr import read_fields
from ekyc.types import DocumentType, Side

_GENERATOR_NAME = {"number": FieldName.LICENSE_NUMBER.value}
ACCEPTED = [d for d in DocumentType if d.accepted]


class TestFieldRegions:
    @pytest.mark.parametrize("doc", ACCEPTED)
    def test_regions_cover_the_generators_fields(self, doc: DocumentType) -> None:
        """Printed key fields lie inside their regions (long addresses may run past x1)."""
        ppm = 10.0
        regions = {r.field.value: r for r in field_regions(doc, Side.FRONT)}
        for seed in range(25):
            card = render_card(doc, Side.FRONT, make_identity(seed, doc), None, ppm)
            for printed in card.fields:
                region = regions.get(_GENERATOR_NAME.get(printed.name, printed.name))
                if region is None or (
                    doc is DocumentType.RESIDENCE_CARD and printed.name == "number"
                ):
                    continue
                x0, y0, x1, y1 = (v / ppm for v in printed.box)
                rx0, ry0, rx1, ry1 = region.rect_mm
                assert rx0 <= x0, (printed.name, printed.box)
                assert ry0 <= y0, (printed.name, printed.box)
                assert y1 <= ry1, (printed.name, printed.box)
                if printed.name != "address":
                    assert x1 <= rx1, (printed.name, printed.value)

    def test_every_accepted_front_has_name_birth_date_address_and_expiry(self) -> None:
        for doc in ACCEPTED:
            fields = {r.field for r in field_regions(doc, Side.FRONT)}
            assert {
                FieldName.NAME,
                FieldName.BIRTH_DATE,
                FieldName.ADDRESS,
                FieldName.EXPIRY_DATE,
            } <= fields

    def test_refused_documents_have_no_regions(self) -> None:
        assert field_regions(DocumentType.PASSPORT, Side.FRONT) == ()
        assert field_regions(DocumentType.HEALTH_INSURANCE_CARD, Side.FRONT) == ()


class TestMyNumberIsNeverRead:
    def test_no_region_for_the_individual_number(self) -> None:
        assert "individual_number" not in {f.value for f in FieldName}
        assert all(
            doc is not DocumentType.MY_NUMBER_CARD or side is Side.FRONT
            for doc, side in FIELD_REGIONS
        )
        front = field_regions(DocumentType.MY_NUMBER_CARD, Side.FRONT)
        assert FieldName.LICENSE_NUMBER not in {r.field for r in front}

    @pytest.mark.parametrize("side", [Side.BACK, Side.UNKNOWN])
    def test_back_is_refused(self, side: Side) -> None:
        with pytest.raises(StepNotAllowed):
            field_regions(DocumentType.MY_NUMBER_CARD, side)

    def test_read_fields_refuses_the_back_before_any_ocr(self) -> None:
        class Spy:
            calls = 0

            def read_lines(self, lines, charsets=()):
                Spy.calls += 1
                return ()

        back = render_card(
            DocumentType.MY_NUMBER_CARD,
            Side.BACK,
            make_identity(1, DocumentType.MY_NUMBER_CARD),
            None,
            10.0,
        )
        with pytest.raises(StepNotAllowed):
            read_fields(back.image, DocumentType.MY_NUMBER_CARD, Side.BACK, reader=Spy())
        assert Spy.calls == 0
