from __future__ import annotations

import datetime as dt
import json
from contextlib import nullcontext
from typing import ClassVar

import pytest

from ekyc.errors import InputError
from ekyc.read import Applicant, FieldName, FieldRead, FieldReads, Outcome, cross_check
from ekyc.read.ocr import normalize_value
from ekyc.types import DocumentType, Side
from ekyc.verdict import ReasonCode as R

TODAY = dt.date(2025, 11, 1)
APPLICANT = Applicant(
    family_name="髙橋",
    given_name="健一",
    birth_date=dt.date(1962, 7, 19),
    address="愛知県名古屋市中区栄１－２８－１４　コーポ桜101",
    license_number="548472079051",
)
CARD = {
    FieldName.NAME: "高橋　健一",
    FieldName.BIRTH_DATE: "昭和37年07月19日生",
    FieldName.ADDRESS: "愛知県名古屋市中区栄1丁目28番14号",
    FieldName.EXPIRY_DATE: "令和11年08月19日まで有効",
    FieldName.LICENSE_NUMBER: "548472079051",
}


def _reads(glare: float = 0.0, **changes: str) -> FieldReads:
    texts = {**CARD, **{FieldName(k): v for k, v in changes.items()}}
    return FieldReads(
        DocumentType.DRIVERS_LICENSE,
        Side.FRONT,
        tuple(
            FieldRead(f, t, normalize_value(f, t), 0.9 if t else 0.0, (0, 0, 10, 10), glare)
            for f, t in texts.items()
        ),
        elapsed_ms=1.0,
    )


class TestCrossCheck:
    def test_match(self) -> None:
        result = cross_check(_reads(), APPLICANT, TODAY)
        assert result.passed
        assert result.reasons == ()
        assert {c.outcome for c in result.checks} == {Outcome.MATCH}
        assert result.expiry_date == dt.date(2029, 8, 19)
        assert not result.expired
        assert all(c.rule for c in result.checks)

    @pytest.mark.parametrize(
        ("changes", "reasons"),
        [
            ({"name": "高橋　健二"}, (R.NAME_MISMATCH,)),
            ({"name": "佐藤　健一"}, (R.NAME_MISMATCH,)),
            ({"birth_date": "昭和37年07月18日生"}, (R.BIRTH_DATE_MISMATCH,)),
            ({"address": "愛知県名古屋市中区栄1丁目28番15号"}, (R.ADDRESS_MISMATCH,)),  # neighbour
            ({"address": "愛知県名古屋市中区呆1丁目28番14号"}, ()),  # one OCR slip in the text
            ({"address": "大阪府大阪市北区梅田1丁目28番14号"}, (R.ADDRESS_MISMATCH,)),
            ({"license_number": "548472079052"}, (R.LICENSE_NUMBER_MISMATCH,)),
            ({"expiry_date": "令和07年10月31日まで有効"}, (R.DOCUMENT_EXPIRED,)),
            ({"expiry_date": "令和07年11月01日まで有効"}, ()),  # valid through the day
            ({"name": ""}, (R.FIELD_UNREADABLE,)),
            ({"expiry_date": "まで有効"}, (R.FIELD_UNREADABLE,)),
            ({"birth_date": "昭和37年07月"}, (R.FIELD_UNREADABLE,)),
        ],
    )
    def test_known_values(self, changes: dict[str, str], reasons: tuple[R, ...]) -> None:
        assert cross_check(_reads(**changes), APPLICANT, TODAY).reasons == reasons

    def test_expired(self) -> None:
        result = cross_check(_reads(expiry_date="平成30年01月01日まで有効"), APPLICANT, TODAY)
        assert result.expired
        assert result.reasons == (R.DOCUMENT_EXPIRED,)
        assert not result.passed

    def test_glare_on_a_failed_field(self) -> None:
        result = cross_check(_reads(glare=0.1, name=""), APPLICANT, TODAY)
        assert result.reasons == (R.FIELD_UNREADABLE, R.GLARE_ON_FIELDS)
        assert cross_check(_reads(glare=0.1), APPLICANT, TODAY).reasons == ()

    def test_licence_number_only_when_declared(self) -> None:
        applicant = Applicant("高橋", "健一", dt.date(1962, 7, 19), "愛知県名古屋市中区栄1-28-14")
        result = cross_check(_reads(license_number="000"), applicant, TODAY)
        assert FieldName.LICENSE_NUMBER not in {c.field for c in result.checks}
        assert result.passed

    def test_long_latin_name_tolerates_one_letter(self) -> None:
        applicant = Applicant(
            "SANTOS", "MARIA CLARA", dt.date(1962, 7, 19), "愛知県名古屋市中区栄1-28-14"
        )
        reads = _reads(name="SANTOS MARIA CLAR")
        check = next(
            c for c in cross_check(reads, applicant, TODAY).checks if c.field is FieldName.NAME
        )
        assert check.outcome is Outcome.MATCH
        assert check.similarity == pytest.approx(15 / 16)


def _read(field: FieldName, text: str, confidence: float) -> FieldReads:
    """The card's reads with one field read as ``text`` at ``confidence``."""
    reads = _reads(**{field.value: text})
    fields = tuple(
        FieldRead(r.field, r.raw_text, r.value, confidence, r.box, 0.0) if r.field is field
        else r for r in reads.fields
    )  # fmt: skip
    return FieldReads(reads.document_type, reads.side, fields, reads.elapsed_ms)


class TestNoReading:
    """A read that is no reading is unreadable; a clear read of another value still differs."""

    @pytest.mark.parametrize(
        ("field", "text", "confidence", "reasons"),
        [
            # Seed 22030's front: "tb" at 0.27 for a kanji name.
            (FieldName.NAME, "tb", 0.27, (R.FIELD_UNREADABLE,)),
            (FieldName.NAME, "TB", 0.9, (R.FIELD_UNREADABLE,)),  # no kanji or kana at all
            (FieldName.NAME, "小林 有王語語", 0.23, (R.FIELD_UNREADABLE,)),  # the engine doubts
            # A different person's name, read clearly: a mismatch, however it is scripted.
            (FieldName.NAME, "佐藤　健一", 0.9, (R.NAME_MISMATCH,)),
            (FieldName.NAME, "佐藤　健一", 0.5, (R.NAME_MISMATCH,)),
            (FieldName.NAME, "高橋　健二", 0.9, (R.NAME_MISMATCH,)),
            (FieldName.NAME, "高橋　健一", 0.2, ()),  # a match is a match
            # What no kanji name prints (the box's rule read as "|", noise) is not compared ...
            (FieldName.NAME, "高橋 健一 |", 0.8, ()),
            (FieldName.NAME, "高橋 健一 ea", 0.8, ()),
            (FieldName.NAME, "|", 0.9, (R.FIELD_UNREADABLE,)),
            # ... and another person's kanji still differ.
            (FieldName.NAME, "高橋 健二 |", 0.8, (R.NAME_MISMATCH,)),
            (FieldName.NAME, "高橋、健", 0.8, (R.NAME_MISMATCH,)),
            (FieldName.ADDRESS, "ーー", 0.41, (R.FIELD_UNREADABLE,)),
            (FieldName.ADDRESS, "大阪府大阪市北区梅田1丁目28番14号", 0.9, (R.ADDRESS_MISMATCH,)),
            # The prefecture: one slip matches, garbled is unread, another one differs.
            (FieldName.ADDRESS, "愛如県名古屋市中区栄1丁目28番14号", 0.9, ()),
            (FieldName.ADDRESS, "調古才名古屋市中区栄1丁目28番14号", 0.9, (R.FIELD_UNREADABLE,)),
            (FieldName.ADDRESS, "三重県名古屋市中区栄1丁目28番14号", 0.9, (R.ADDRESS_MISMATCH,)),
            # Dates and numbers keep their exact rules at any confidence.
            (FieldName.BIRTH_DATE, "昭和37年07月18日生", 0.2, (R.BIRTH_DATE_MISMATCH,)),
        ],
    )
    def test_known_values(
        self, field: FieldName, text: str, confidence: float, reasons: tuple[R, ...]
    ) -> None:
        assert cross_check(_read(field, text, confidence), APPLICANT, TODAY).reasons == reasons

    def test_a_latin_name_read_as_kana_is_no_reading(self) -> None:
        applicant = Applicant("KIM", "MINJUN", dt.date(1962, 7, 19), "愛知県名古屋市中区栄1-28-14")
        assert cross_check(_read(FieldName.NAME, "キム", 0.9), applicant, TODAY).reasons == (
            R.FIELD_UNREADABLE,
        )
        assert cross_check(_read(FieldName.NAME, "LEE MINJUN", 0.9), applicant, TODAY).reasons == (
            R.NAME_MISMATCH,
        )


def _again(view: str = "front/flattened", **texts: str) -> FieldReads:
    """A second read of only the fields given."""
    return FieldReads(
        DocumentType.DRIVERS_LICENSE,
        Side.FRONT,
        tuple(
            FieldRead(
                FieldName(k), t, normalize_value(FieldName(k), t), 0.9, (0, 0, 10, 10), 0.0, view
            )
            for k, t in texts.items()
        ),
        elapsed_ms=1.0,
    )


class TestSecondReads:
    @pytest.mark.parametrize(
        ("first", "again", "reasons"),
        [
            # A finger over the name on the front; the flattened read gets it.
            ({"name": "本"}, [{"name": "高橋　健一"}], ()),
            ({"birth_date": "昭和37年07月"}, [{"birth_date": "昭和37年07月19日生"}], ()),
            # Only a match counts: a second mismatch or nothing leaves the first outcome.
            ({"name": "本"}, [{"name": "高橋　夢"}, {"name": ""}], (R.NAME_MISMATCH,)),
            # A clear read of another name outweighs no read at all.
            ({"name": ""}, [{"name": "佐藤　健一"}], (R.NAME_MISMATCH,)),
            # Another person's card stays another person's, however often it is read.
            (
                {"name": "佐藤　健一"},
                [{"name": "佐藤　健一"}, {"name": "佐藤 健一"}],
                (R.NAME_MISMATCH,),
            ),
            (
                {"birth_date": "昭和37年07月18日生"},
                [{"birth_date": "昭和37年07月18日生"}],
                (R.BIRTH_DATE_MISMATCH,),
            ),
            # A missing expiry comes from the first second read that has one ...
            ({"expiry_date": "まで有効"}, [{"expiry_date": "令和11年08月19日まで有効"}], ()),
            (
                {"expiry_date": "まで有効"},
                [{"expiry_date": "平成30年01月01日まで有効"}],
                (R.DOCUMENT_EXPIRED,),
            ),
            # ... and a read one never replaces.
            (
                {"expiry_date": "平成30年01月01日まで有効"},
                [{"expiry_date": "令和11年08月19日まで有効"}],
                (R.DOCUMENT_EXPIRED,),
            ),
        ],
    )
    def test_known_values(
        self, first: dict[str, str], again: list[dict[str, str]], reasons: tuple[R, ...]
    ) -> None:
        more = [_again(**texts) for texts in again]
        assert cross_check(_reads(**first), APPLICANT, TODAY, more).reasons == reasons

    @pytest.mark.parametrize(
        ("first", "again", "reasons"),
        [
            # Each read slips on another character; together every one is read in place.
            ({"name": "高槁　健一"}, [{"name": "尚橋 健一"}], ()),
            # Another person's name: the differing character is never read as declared.
            ({"name": "高橋　健二"}, [{"name": "高橋 健二"}, {"name": "高槁 健二"}],
             (R.NAME_MISMATCH,)),
            ({"name": "高槁　健一"}, [], (R.NAME_MISMATCH,)),  # one read is not enough
            # Noise around a read does not change its length (seed 21078's tilted shot).
            ({"name": "高槁　健一 |"}, [{"name": "尚橋 健一"}], ()),
            # Lengths differ: not the same characters in the same places.
            ({"name": "高橋　健"}, [{"name": "橋 健一"}], (R.NAME_MISMATCH,)),
        ],
    )  # fmt: skip
    def test_every_character_in_its_place(
        self, first: dict[str, str], again: list[dict[str, str]], reasons: tuple[R, ...]
    ) -> None:
        more = [_again(**texts) for texts in again]
        result = cross_check(_reads(**first), APPLICANT, TODAY, more)
        assert result.reasons == reasons
        if not reasons:
            name = next(c for c in result.checks if c.field is FieldName.NAME)
            assert "in its place" in name.rule

    def test_an_unclear_read_lends_no_character(self) -> None:
        more = [_again(name="尚橋 健一")]
        doubted = _read(FieldName.NAME, "高槁　健一", 0.3)
        assert cross_check(doubted, APPLICANT, TODAY, more).reasons == (R.NAME_MISMATCH,)

    def test_the_matching_read_is_the_evidence(self) -> None:
        more = [_again("front/flattened", name="高橋 健二"), _again("tilt", name="高橋 健一")]
        check = cross_check(_reads(name="本"), APPLICANT, TODAY, more)
        name = next(c for c in check.checks if c.field is FieldName.NAME)
        assert (name.outcome, name.read.view, name.read.raw_text) == (
            Outcome.MATCH,
            "tilt",
            "高橋 健一",
        )


class TestApplicant:
    BASE: ClassVar[dict[str, str]] = {
        "family_name": "山田",
        "given_name": "太郎",
        "birth_date": "1990-04-01",
        "address": "東京都千代田区霞が関1-2-3",
    }

    @pytest.mark.parametrize(
        ("patch", "expectation"),
        [
            ({}, nullcontext()),
            ({"license_number": "301234567890", "family_name_kana": "ヤマダ"}, nullcontext()),
            ({"birth_date": "1990-02-30"}, pytest.raises(InputError, match="invalid")),
            ({"birth_date": None}, pytest.raises(InputError)),
            ({"family_name": " "}, pytest.raises(InputError, match="family_name")),
            ({"nickname": "x"}, pytest.raises(InputError, match="unknown")),
        ],
    )
    def test_from_json(self, patch: dict[str, object], expectation) -> None:
        with expectation:
            applicant = Applicant.from_json(json.dumps({**self.BASE, **patch}))
            assert applicant.birth_date == dt.date(1990, 4, 1)
            assert applicant.full_name == "山田 太郎"

    @pytest.mark.parametrize("text", ["[]", "not json", '{"family_name": "山田"}'])
    def test_exception(self, text: str) -> None:
        with pytest.raises(InputError) as info:
            Applicant.from_json(text)
        assert info.value.code == "invalid_input"


class TestEraTail:
    """A birth date whose era lost its first character (昭和 read as 和) on the card."""

    @pytest.mark.parametrize(
        ("text", "outcome"),
        [
            ("和37年07月19日生", Outcome.MATCH),
            ("中和37年7月19日生", Outcome.MATCH),  # 昭 garbled into a non-era glyph
            ("和37年07月18日生", Outcome.UNREADABLE),  # another day: still no date
            ("和38年07月19日生", Outcome.UNREADABLE),
            ("平和37年07月19日生", Outcome.UNREADABLE),  # 平 starts another era
            ("成37年07月19日生", Outcome.UNREADABLE),  # the tail of 平成, not of 昭和
        ],
    )
    def test_only_the_declared_date_in_its_era_matches(self, text: str, outcome: Outcome):
        result = cross_check(_reads(birth_date=text), APPLICANT, TODAY)
        check = next(c for c in result.checks if c.field is FieldName.BIRTH_DATE)
        assert check.outcome is outcome
        assert (R.FIELD_UNREADABLE in result.reasons) == (outcome is Outcome.UNREADABLE)
        assert R.BIRTH_DATE_MISMATCH not in result.reasons

    def test_a_full_era_that_differs_stays_a_mismatch(self):
        result = cross_check(_reads(birth_date="令和37年07月19日生"), APPLICANT, TODAY)
        assert R.BIRTH_DATE_MISMATCH in result.reasons
