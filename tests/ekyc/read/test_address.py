from __future__ import annotations

import pytest

from ekyc.read.address import (
    PREFECTURES,
    PrefectureRead,
    compare_address_keys,
    declared_prefecture,
)
from ekyc.read.normalize import similarity

DECLARED = "東京都世田谷区三軒茶屋2-3-8"


def test_the_closed_list() -> None:
    assert len(PREFECTURES) == len(set(PREFECTURES)) == 47
    assert all(p[-1] in "都道府県" for p in PREFECTURES)
    # No prefecture starts with another, so the one a key starts with is unambiguous.
    assert not [(a, b) for a in PREFECTURES for b in PREFECTURES if a != b and a.startswith(b)]


@pytest.mark.parametrize(
    ("key", "prefecture"),
    [(DECLARED, "東京都"), ("京都府京都市左京区岡崎2-14-6", "京都府"),
     ("神奈川県横浜市西区みなとみらい2-13-11", "神奈川県"), ("京都市左京区岡崎12-3-5", "")],
)  # fmt: skip
def test_declared_prefecture(key: str, prefecture: str) -> None:
    assert declared_prefecture(key) == prefecture


@pytest.mark.parametrize(
    ("read", "prefecture", "same", "differs"),
    [
        (DECLARED, PrefectureRead.SAME, True, False),
        ("素京都世田谷区三軒茶屋2-3-8", PrefectureRead.SAME, True, False),  # one slip
        ("京都世田谷区三軒茶屋2-3-8", PrefectureRead.SAME, True, False),  # first glyph lost
        ("東京都都世田谷区三軒茶屋2-3-8", PrefectureRead.SAME, True, False),  # one too many
        # Garbled beyond one slip: unread, neither the same address nor another.
        ("調古才世田谷区三軒茶屋2-3-8", PrefectureRead.UNREAD, False, False),
        # Exactly another prefecture: another address, whatever follows.
        ("京都府世田谷区三軒茶屋2-3-8", PrefectureRead.OTHER, False, True),
        ("東京都世田谷区三軒茶屋2-3-9", PrefectureRead.SAME, False, True),  # the neighbour
        ("東京都千代田区霞が関2-3-8", PrefectureRead.SAME, False, True),
        ("東京都世田谷区三軒余屋2-3-8", PrefectureRead.SAME, True, False),  # a locality slip
    ],
)
def test_compare_address_keys(
    read: str, prefecture: PrefectureRead, same: bool, differs: bool
) -> None:
    parts = compare_address_keys(read, DECLARED)
    assert (parts.prefecture, parts.same, parts.differs) == (prefecture, same, differs)


def test_the_prefecture_no_longer_spends_the_locality_allowance() -> None:
    # Two slips in 13 characters fail the old whole-text rule (11 / 13 < 0.85); one of
    # them in the prefecture, one in the locality, each part passes its own rule.
    read, declared = "福隊県福岡市情多区博多駅前3-25-2", "福岡県福岡市博多区博多駅前3-25-2"
    assert similarity(read[:-6], declared[:-6]) < 0.85
    assert compare_address_keys(read, declared).same
    # A sister prefecture with its own city is still another address.
    assert compare_address_keys("福島県福島市大町3-25-2", declared).differs


def test_without_a_declared_prefecture_the_whole_text_is_the_locality() -> None:
    parts = compare_address_keys("京都市左京区岡崎12-3-5", "京都市左京区岡崎12-3-5")
    assert (parts.prefecture, parts.locality_similarity, parts.same) == (
        PrefectureRead.SAME, 1.0, True)  # fmt: skip


def test_a_short_locality_keeps_the_whole_text_rules_one_slip() -> None:
    # Dev seed 21070: one OCR slip (覇 -> 記) in a six-character locality, the prefecture and
    # street numbers exact. Counted with the prefecture, as the whole-text rule counted it,
    # the slip is within the allowance (8 / 9); a second slip is not (7 / 9).
    declared = "沖縄県那覇市久茂地2-12-12"
    parts = compare_address_keys("沖縄県那記市久茂地2-12-12", declared)
    assert parts.same
    assert parts.locality_similarity == pytest.approx(8 / 9)
    assert compare_address_keys("沖縄県那記市久米地2-12-12", declared).differs
    # The neighbour, and another short locality, stay other addresses.
    assert compare_address_keys("沖縄県那記市久茂地2-12-13", declared).differs
    assert compare_address_keys("沖縄県浦添市牧港2-12-12", declared).differs
    # Without a declared prefecture nothing is added: a slip in six characters is too many.
    assert compare_address_keys("那記市久茂地2-12-12", "那覇市久茂地2-12-12").differs
