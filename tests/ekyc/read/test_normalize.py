from __future__ import annotations

import datetime as dt

import pytest

from ekyc.read.normalize import address_key, name_key, normalize_width, parse_date, similarity

D = dt.date


class TestParseDate:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("昭和64年1月7日", D(1989, 1, 7)),  # last day of 昭和
            ("昭和64年1月8日", None),  # already 平成
            ("平成元年1月8日", D(1989, 1, 8)),
            ("平成1年1月8日", D(1989, 1, 8)),
            ("平成31年4月30日", D(2019, 4, 30)),
            ("平成31年5月1日", None),  # already 令和
            ("令和元年5月1日", D(2019, 5, 1)),
            ("令和1年4月30日", None),  # still 平成
            ("令和0年5月1日", None),
            ("令和５年１２月２７日", D(2023, 12, 27)),
            ("令和 5年 12月 27日", D(2023, 12, 27)),
            ("令和07年05月01日まで有効", D(2025, 5, 1)),
            ("昭和37年07月19日生", D(1962, 7, 19)),
            ("R5.12.27", D(2023, 12, 27)),
            ("r5.12.27", D(2023, 12, 27)),
            ("H31/4/30", D(2019, 4, 30)),
            ("S64.1.7", D(1989, 1, 7)),
            ("2025年07月25日", D(2025, 7, 25)),
            ("このカードは　2025年07月25日　まで有効　です。", D(2025, 7, 25)),
            ("2033-03-05", D(2033, 3, 5)),
            # A stray digit read before the year (seed 20016's residence card, verify_rates)
            ("ミのカードは 32027年06月04由 まで有効 です,", D(2027, 6, 4)),
            ("3025年07月25日", None),  # no identity document prints such a year
            ("昭和44年11月 1c纏議", None),  # 16日 misread: not the 1st
            ("2027年06月0S日", None),
            ("２０２４／２／２９", D(2024, 2, 29)),
            ("2023年2月29日", None),  # not a leap year
            ("令和5年13月1日", None),
            ("", None),
            ("氏名", None),
            ("12345", None),
        ],
    )
    def test_known_values(self, text: str, expected: dt.date | None) -> None:
        assert parse_date(text) == expected


class TestWidthAndName:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("ＡＢＣ１２３", "ABC123"),
            ("１－２－３", "1-2-3"),
            ("1ー2", "1-2"),
            ("コーポ", "コーポ"),
        ],
    )
    def test_width(self, text: str, expected: str) -> None:
        assert normalize_width(text) == expected

    @pytest.mark.parametrize(
        ("a", "b", "same"),
        [
            ("山田　太郎", "山田 太郎", True),
            ("山田太郎", "山田  太郎", True),
            ("髙橋　誠", "高橋 誠", True),
            ("渡邉 陽子", "渡辺陽子", True),
            ("ＮＧＵＹＥＮ　ＶＡＮ ＡＮ", "nguyen van an", True),
            ("山田太郎", "山田次郎", False),
            ("佐藤由美", "佐藤真由美", False),
        ],
    )
    def test_name_key(self, a: str, b: str, same: bool) -> None:
        assert (name_key(a) == name_key(b)) is same


class TestAddressKey:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("東京都千代田区霞が関1丁目2番3号", "東京都千代田区霞が関1-2-3"),
            ("東京都千代田区霞が関１－２－３", "東京都千代田区霞が関1-2-3"),
            ("東京都千代田区霞が関1-2-3　コーポ桜101号室", "東京都千代田区霞が関1-2-3"),
            ("東京都千代田区霞が関1丁目2番地3", "東京都千代田区霞が関1-2-3"),
            ("東京都千代田区霞が関一丁目2番3号", "東京都千代田区霞が関1-2-3"),
            ("京都市左京区岡崎十二丁目3番の5", "京都市左京区岡崎12-3-5"),
            ("長野県松本市中央4丁目19番14号 1 直", "長野県松本市中央4-19-14"),
            ("長野県松本市中央2丁目", "長野県松本市中央2"),
            ("那覇市久茂地", "那覇市久茂地"),
        ],
    )
    def test_known_values(self, text: str, expected: str) -> None:
        assert address_key(text) == expected


class TestSimilarity:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [("", "", 1.0), ("abc", "abc", 1.0), ("abc", "", 0.0), ("abcd", "abed", 0.75)],
    )
    def test_known_values(self, a: str, b: str, expected: float) -> None:
        assert similarity(a, b) == pytest.approx(expected)

    def test_symmetric(self) -> None:
        assert similarity("東京都千代田区", "東京千代田区霞") == similarity(
            "東京千代田区霞", "東京都千代田区"
        )
