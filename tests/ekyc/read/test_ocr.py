from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from benchmarks.synth.cards import render_card
from benchmarks.synth.identity import make_identity
from ekyc.read import FieldName, LineRead, TesseractCli, read_fields
from ekyc.read.ocr import (
    charset_for,
    flatten_background,
    flattened,
    normalize_value,
    prepare_line,
)
from ekyc.read.tesseract import OcrUnavailable
from ekyc.types import CardQuad, DocumentType, RectifiedCard, Side

DL, MN, RC = DocumentType.DRIVERS_LICENSE, DocumentType.MY_NUMBER_CARD, DocumentType.RESIDENCE_CARD
PPM = 12.0


def _card(doc: DocumentType, seed: int):
    ident = make_identity(seed, doc)
    return render_card(doc, Side.FRONT, ident, None, PPM).image, ident


class FakeReader:
    """Returns canned text per line, in region order."""

    def __init__(self, texts: list[str], confidence: float = 0.9) -> None:
        self.texts, self.confidence, self.calls = texts, confidence, 0

    def read_lines(self, lines, charsets=()):
        self.calls += 1
        assert all(line.ndim == 2 and line.dtype == np.uint8 for line in lines)
        return tuple(LineRead(t, self.confidence) for t in self.texts[: len(lines)])


class TestReadFieldsSmoke:
    def test_shapes_and_normalised_values(self) -> None:
        image, _ = _card(DL, 1)
        fake = FakeReader(
            [
                "山田　太郎",
                "昭和64年01月07日生",
                "東京都千代田区霞が関1丁目2番3号",
                "令和09年01月01日まで有効",
                "301234567890",
            ]
        )
        reads = read_fields(image, DL, Side.FRONT, reader=fake, px_per_mm=PPM)
        values = {f.field: f.value for f in reads.fields}
        assert values == {
            FieldName.NAME: "山田太郎",
            FieldName.BIRTH_DATE: dt.date(1989, 1, 7),
            FieldName.ADDRESS: "東京都千代田区霞が関1-2-3",
            FieldName.EXPIRY_DATE: dt.date(2027, 1, 1),
            FieldName.LICENSE_NUMBER: "301234567890",
        }
        assert all(0 <= f.box[0] < f.box[2] <= image.shape[1] for f in reads.fields)
        assert fake.calls == 1  # confident reads are not retried

    def test_unsure_reads_are_retried_and_empty_ones_once_more(self) -> None:
        image, _ = _card(MN, 1)
        fake = FakeReader(["", "", "", ""], confidence=0.0)
        reads = read_fields(image, MN, Side.FRONT, reader=fake, px_per_mm=PPM)
        assert fake.calls == 3
        assert all(f.value is None and f.confidence == 0.0 for f in reads.fields)

    def test_only_lines_still_empty_are_read_at_the_last_resort_scale(self) -> None:
        """After the retry the name is sure, the address unsure but read, the date empty:
        only the date is read at ``EMPTY_GLYPH_PX`` (small glyphs misread confidently)."""
        image, _ = _card(MN, 1)
        heights: list[list[int]] = []

        class Scales(FakeReader):
            def read_lines(self, lines, charsets=()):
                heights.append([line.shape[0] for line in lines])
                if len(heights) == 2:  # name, address, birth date at RETRY_GLYPH_PX
                    return (LineRead("山田太郎", 0.9), LineRead("東京", 0.3), LineRead("", 0.0))
                return (LineRead("", 0.0),) * len(lines)

        only = {FieldName.NAME, FieldName.ADDRESS, FieldName.BIRTH_DATE}
        reads = read_fields(image, MN, Side.FRONT, reader=Scales([]), px_per_mm=PPM, only=only)
        assert [len(h) for h in heights] == [3, 3, 1]
        assert reads.get(FieldName.NAME).value == "山田太郎"
        assert reads.get(FieldName.ADDRESS).value == "東京"
        # the birth date's line, smaller at each scale
        assert heights[0][2] > heights[1][2] > heights[2][0]

    def test_rectified_card_carries_its_resolution(self) -> None:
        image, _ = _card(RC, 2)
        quad = CardQuad(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32), 1.0)
        card = RectifiedCard(image, PPM, np.eye(3), quad)
        reads = read_fields(card, RC, Side.FRONT, reader=FakeReader(["LI NA"] * 4))
        assert reads.get(FieldName.NAME) is not None
        assert reads.get(FieldName.LICENSE_NUMBER) is None

    @pytest.mark.parametrize(("text_px", "target"), [(44.4, 32), (20.0, 32), (32.0, 32)])
    def test_prepare_line_scales_to_the_target(self, text_px: float, target: int) -> None:
        line = prepare_line(np.full((50, 200, 3), 200, np.uint8), text_px, target)
        assert line.ndim == 2
        assert line.shape[0] == pytest.approx(50 * target / text_px + 12, abs=2)


def test_flattening_whitens_a_blob_and_keeps_the_strokes() -> None:
    line = np.full((44, 300), 230, np.uint8)
    line[10:34, 20:23] = 30  # a 3 px stroke
    line[:, 150:260] = 120  # a finger's shade, wider than the closing
    line[10:34, 200:203] = 20  # a stroke on it
    flat = flatten_background(line)
    assert flat[20, 21] < 40  # strokes stay dark, on paper ...
    assert flat[20, 201] < 60  # ... and on the finger
    assert (flat[20, 100], flat[20, 180]) == (255, 255)  # paper and finger go white


def test_a_second_read_of_only_some_fields_is_labelled(reader) -> None:
    image, ident = _card(DL, 2)
    reads = read_fields(image, DL, Side.FRONT, reader=reader, px_per_mm=PPM,
                        only={FieldName.BIRTH_DATE}, flatten=True, view="tilt")  # fmt: skip
    assert [(r.field, r.view) for r in reads.fields] == [(FieldName.BIRTH_DATE, "tilt/flattened")]
    assert reads.fields[0].value == ident.birth, reads.fields[0].raw_text


@pytest.mark.parametrize(
    ("doc", "seed"), [(DL, 1), (DL, 2), (DL, 4), (MN, 1), (MN, 3), (MN, 6), (RC, 2), (RC, 3)]
)
def test_reads_rendered_cards_exactly(reader, doc: DocumentType, seed: int) -> None:
    image, ident = _card(doc, seed)
    reads = read_fields(image, doc, Side.FRONT, reader=reader, px_per_mm=PPM)
    name, birth = reads.get(FieldName.NAME), reads.get(FieldName.BIRTH_DATE)
    assert name is not None
    assert birth is not None
    assert name.value == normalize_value(FieldName.NAME, ident.name), name.raw_text
    assert birth.value == ident.birth, birth.raw_text
    assert 0.5 < name.confidence <= 1.0


def test_binary_runner_reads_a_card(reader) -> None:
    del reader  # only for the skip when tesseract is missing
    image, ident = _card(DL, 4)
    reads = read_fields(image, DL, Side.FRONT, reader=TesseractCli(), px_per_mm=PPM)
    birth = reads.get(FieldName.BIRTH_DATE)
    assert birth is not None
    assert birth.value == ident.birth


def test_missing_binary_is_a_typed_error() -> None:
    with pytest.raises(OcrUnavailable) as info:
        TesseractCli("no-such-tesseract-binary")
    assert info.value.code == "ocr_unavailable"


class RecordingReader(FakeReader):
    """A ``FakeReader`` that keeps the whitelist each line was read with."""

    def __init__(self, texts: list[str]) -> None:
        super().__init__(texts)
        self.charsets: list[list[str | None]] = []

    def read_lines(self, lines, charsets=()):
        self.charsets.append(list(charsets))
        return super().read_lines(lines, charsets)


@pytest.mark.parametrize("doc", [DL, MN, RC])
def test_each_field_is_read_with_what_it_can_print(doc: DocumentType) -> None:
    image, _ = _card(doc, 1)
    fake = RecordingReader(["x"] * 5)
    reads = read_fields(image, doc, Side.FRONT, reader=fake, px_per_mm=PPM)
    by_field = dict(zip((r.field for r in reads.fields), fake.charsets[0], strict=True))
    for field in (FieldName.BIRTH_DATE, FieldName.EXPIRY_DATE):
        assert set("0123456789年月日生昭和平成令和まで有効") <= set(by_field[field] or "")
        assert "A" not in (by_field[field] or "")
    assert by_field[FieldName.ADDRESS] is None  # kanji, kana, digits and dashes: anything
    name = by_field[FieldName.NAME]
    assert name == (charset_for(RC, FieldName.NAME) if doc is RC else None)
    assert by_field.get(FieldName.LICENSE_NUMBER, "0123456789") == "0123456789"
    # "x" is no date: the date lines (only they) were read again, with the same whitelist
    dates = [c for f, c in by_field.items() if f.is_date]
    assert fake.charsets[1:] == [dates]


def test_a_date_read_that_parses_beats_a_surer_one_that_does_not() -> None:
    image, _ = _card(MN, 1)

    class TwoScales(FakeReader):
        def read_lines(self, lines, charsets=()):
            self.calls += 1
            if self.calls == 1:  # name, address, birth date, expiry
                return tuple(LineRead(t, 0.95) for t in ["山田太郎", "東京都", "昭和6年", "x"])
            return (LineRead("昭和60年1月2日生", 0.7), LineRead("2030年1月2日まで有効", 0.5))

    reads = read_fields(image, MN, Side.FRONT, reader=TwoScales([]), px_per_mm=PPM)
    assert reads.get(FieldName.BIRTH_DATE).value == dt.date(1985, 1, 2)
    assert reads.get(FieldName.EXPIRY_DATE).value == dt.date(2030, 1, 2)
    assert reads.get(FieldName.NAME).value == "山田太郎"


def test_a_whitelist_does_not_stay_on_the_engine(reader) -> None:
    """A date line read with its whitelist, then a kanji name without one: the name is
    still read in full (the in-process engine keeps the last whitelist it was given)."""
    image, ident = _card(DL, 2)
    for only in ({FieldName.BIRTH_DATE}, {FieldName.NAME}):
        reads = read_fields(image, DL, Side.FRONT, reader=reader, px_per_mm=PPM, only=only)
    name = reads.get(FieldName.NAME)
    assert name is not None
    assert name.value == normalize_value(FieldName.NAME, ident.name), name.raw_text


def test_names_are_read_flattened_first_and_plain_the_other_way() -> None:
    image, _ = _card(DL, 3)
    fake = FakeReader(["山田　太郎", "昭和64年01月07日生", "東京都千代田区霞が関1丁目2番3号"])
    first = read_fields(image, DL, Side.FRONT, reader=fake, px_per_mm=PPM, only={
        FieldName.NAME, FieldName.BIRTH_DATE, FieldName.ADDRESS})  # fmt: skip
    assert [(r.field, r.view) for r in first.fields] == [
        (FieldName.NAME, "front/flattened"),
        (FieldName.BIRTH_DATE, "front"),
        (FieldName.ADDRESS, "front"),
    ]
    assert [flattened(f, second=True) for f in (FieldName.NAME, FieldName.ADDRESS)] == [
        False, True]  # fmt: skip
    plain = read_fields(image, DL, Side.FRONT, reader=fake, px_per_mm=PPM,
                        only={FieldName.NAME}, flatten=False)  # fmt: skip
    assert [(r.field, r.view) for r in plain.fields] == [(FieldName.NAME, "front")]
