from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from benchmarks.synth import text
from benchmarks.synth.cards import render_card, render_card_cached
from benchmarks.synth.identity import make_identity, my_number_check_digit
from benchmarks.synth.layout_other import _mrz_check, mrz_lines
from benchmarks.synth.manifest import field_values
from ekyc.types import DocumentType, Side

CASES = [
    (d, s)
    for d in DocumentType
    for s in (Side.FRONT, Side.BACK)
    if not (d is DocumentType.PASSPORT and s is Side.BACK)
]


class TestRenderCard:
    @pytest.mark.parametrize(("doc", "side"), CASES)
    def test_shapes(self, face, doc: DocumentType, side: Side) -> None:
        card = render_card(doc, side, make_identity(3, doc), face, px_per_mm=6.0)
        w_mm, h_mm = card.size_mm
        assert card.image.shape == (round(h_mm * 6), round(w_mm * 6), 3)
        assert card.image.dtype == np.uint8
        assert card.alpha.shape == card.image.shape[:2]
        assert card.alpha[0, 0] < 128
        assert card.alpha[card.alpha.shape[0] // 2, 5] == 255

    def test_known_values(self, face) -> None:
        ident = make_identity(8, DocumentType.DRIVERS_LICENSE)
        card = render_card(DocumentType.DRIVERS_LICENSE, Side.FRONT, ident, face, px_per_mm=8.0)
        values = card.values()
        assert values["number"] == ident.document_number
        assert len(ident.document_number) == 12
        assert values["name"] == ident.name
        assert values["expiry_date"].startswith(text.era_date(ident.expiry))
        assert card.portrait_box is not None
        assert card.portrait_box[0] > card.image.shape[1] / 2

    def test_my_number_portrait_left(self, face) -> None:
        ident = make_identity(9, DocumentType.MY_NUMBER_CARD)
        card = render_card(DocumentType.MY_NUMBER_CARD, Side.FRONT, ident, face, px_per_mm=8.0)
        assert card.portrait_box is not None
        assert card.portrait_box[2] < card.image.shape[1] / 2
        back = render_card(DocumentType.MY_NUMBER_CARD, Side.BACK, ident, face, px_per_mm=8.0)
        assert back.values()["individual_number"].replace(" ", "") == ident.document_number
        assert field_values(ident, DocumentType.MY_NUMBER_CARD, Side.BACK)[
            "individual_number_is_synthetic"
        ]

    def test_exception(self, face) -> None:
        with pytest.raises(ValueError, match="has no back layout"):
            render_card(
                DocumentType.PASSPORT, Side.BACK, make_identity(1, DocumentType.PASSPORT), face
            )

    def test_deterministic_and_cached(self, face) -> None:
        ident = make_identity(4, DocumentType.RESIDENCE_CARD)
        a = render_card(DocumentType.RESIDENCE_CARD, Side.FRONT, ident, face, px_per_mm=6.0)
        b = render_card(DocumentType.RESIDENCE_CARD, Side.FRONT, ident, face, px_per_mm=6.0)
        assert a.image.tobytes() == b.image.tobytes()
        c1 = render_card_cached(DocumentType.RESIDENCE_CARD, Side.FRONT, ident, face, 6.0)
        assert render_card_cached(DocumentType.RESIDENCE_CARD, Side.FRONT, ident, face, 6.0) is c1


class TestIdentity:
    def test_some_expired(self) -> None:
        idents = [make_identity(i, DocumentType.DRIVERS_LICENSE) for i in range(60)]
        expired = sum(i.expired for i in idents)
        assert 0 < expired < 40
        assert {i.band for i in idents} == {"green", "blue", "gold"}

    def test_my_number_check_digit(self) -> None:
        ident = make_identity(2, DocumentType.MY_NUMBER_CARD)
        num = ident.document_number
        assert len(num) == 12
        assert int(num[-1]) == my_number_check_digit(num[:11])

    def test_eras(self) -> None:
        assert text.era_date(dt.date(1989, 1, 7)) == "昭和64年01月07日"
        assert text.era_date(dt.date(1989, 1, 8)) == "平成01年01月08日"
        assert text.era_date(dt.date(2019, 5, 1), zero_pad=False) == "令和 1年 5月 1日"


class TestPassportMrz:
    def test_icao_example_check_digits(self) -> None:
        # ICAO 9303 part 4 specimen: L898902C3 -> 6, 740812 -> 2, 120415 -> 9
        assert (_mrz_check("L898902C3"), _mrz_check("740812"), _mrz_check("120415")) == (
            "6",
            "2",
            "9",
        )

    def test_lines(self) -> None:
        line1, line2 = mrz_lines(make_identity(5, DocumentType.PASSPORT))
        assert len(line1) == len(line2) == 44
        assert line1.startswith("P<JPN")


class TestFont:
    def test_found(self) -> None:
        assert text.find_cjk_font().is_file()

    def test_missing_raises_clear_error(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setattr(text, "_FONT_DIRS", (str(tmp_path),))
        monkeypatch.setattr(text.shutil, "which", lambda _: None)
        monkeypatch.delenv("EKYC_SYNTH_FONT", raising=False)
        text.find_cjk_font.cache_clear()
        try:
            with pytest.raises(text.FontNotFoundError, match="fonts-noto-cjk"):
                text.find_cjk_font()
        finally:
            text.find_cjk_font.cache_clear()
