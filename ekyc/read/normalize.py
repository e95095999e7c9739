"""Pure text normalisers for OCR reads and applicant data: dates, widths, names, addresses.

Both sides of every comparison go through the same function, so what the card prints and
what the applicant typed meet in one canonical form:

* dates: Japanese era (昭和/平成/令和, 元年, ``R5.12.27``) or Western -> ``datetime.date``;
* widths: NFKC (full-width digits and Latin to half-width, half-width kana to full-width),
  with the many dash look-alikes unified to ``-``;
* names: NFKC, upper case, no spaces (U+3000 included), a few old kanji forms -> new;
* addresses: NFKC, no spaces, ``1丁目2番3号`` / ``1丁目2番地3`` / ``1-2-3`` -> ``1-2-3``,
  and the building after the street number dropped (applicants and cards differ there).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

__all__ = [
    "ERAS",
    "address_key",
    "edit_distance",
    "name_key",
    "normalize_width",
    "parse_date",
    "similarity",
]

ERAS: dict[str, tuple[dt.date, dt.date]] = {
    "明治": (dt.date(1868, 10, 23), dt.date(1912, 7, 29)),
    "大正": (dt.date(1912, 7, 30), dt.date(1926, 12, 24)),
    "昭和": (dt.date(1926, 12, 25), dt.date(1989, 1, 7)),
    "平成": (dt.date(1989, 1, 8), dt.date(2019, 4, 30)),
    "令和": (dt.date(2019, 5, 1), dt.date.max),
}
"""First and last day of each era; a date outside its era's span is invalid (平成31年5月1日)."""

_ERA_LETTERS = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−－ｰ﹣", "-"))
_SEP = r"\s*[年./\-]\s*"
# A day run on into a Latin letter or a digit is a misread number ("11月 1c" for 11月16日:
# 6 read as c), not the first of the month: no date rather than a wrong one.
_DAY_END = r"(?![\dA-Z])"
_ERA_DATE = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR])\s*(元|\d{1,2})"
    + _SEP
    + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})"
    + _DAY_END
)
# Years 1900-2099 only (what an identity document prints), and no digit-free left edge
# required: OCR often turns the border or a kana before the year into a stray digit
# ("32027年06月04日まで有効" on a residence card); the year is still the four digits.
_WESTERN_DATE = re.compile(
    r"((?:19|20)\d{2})" + _SEP + r"(\d{1,2})\s*[月./\-]\s*(\d{1,2})" + _DAY_END
)

# Old (旧字体) or variant forms that registries print and keyboards rarely produce. Only
# one-to-one pairs whose new form is the standard reading of the same name are listed.
_KANJI_VARIANTS = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "嵜": "崎",
        "邊": "辺",
        "邉": "辺",
        "齋": "斎",
        "齊": "斉",
        "澤": "沢",
        "濱": "浜",
        "廣": "広",
        "國": "国",
        "櫻": "桜",
        "德": "徳",
        "眞": "真",
        "惠": "恵",
        "實": "実",
        "榮": "栄",
    }
)
# Katakana that print like kanji (and the long-vowel mark like 一): OCR swaps them freely.
# Folded on both sides of a comparison, so only names differing in nothing but these collide.
_LOOKALIKES = str.maketrans(
    {"ニ": "二", "ロ": "口", "カ": "力", "エ": "工", "ハ": "八", "ト": "卜", "タ": "夕", "ー": "一"}
)
_KANJI_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")}
_CHOME_KANJI = re.compile(r"([〇一二三四五六七八九十]+)丁目")
_STREET_NUMBER = re.compile(r"\d+(?:\s*(?:(?:丁目|番地|番|の|-)\s*)+\d+)+")
_CHOME_ONLY = re.compile(r"\d+\s*(?:丁目|番地|番)|\d+$")


def normalize_width(text: str) -> str:
    """NFKC plus dashes unified: ``"２０２５年－Ａ"`` -> ``"2025年-A"``.

    A long-vowel mark between digits (OCR's reading of a hyphen) becomes ``-`` too; between
    kana it stays (``コーポ``).

    >>> normalize_width("１２３ー４５")
    '123-45'
    """
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return re.sub(r"(?<=\d)ー(?=\d)", "-", text)


def parse_date(text: str) -> dt.date | None:
    """The first date in ``text``, era or Western, or None when there is none or it is invalid.

    Accepts ``令和5年12月27日``, ``令和 5年 12月 27日``, ``令和元年5月1日``, ``R5.12.27``,
    ``H31/4/30``, full-width digits, ``2025年07月25日``, ``2025-07-25`` and ``2025/7/25``,
    with any text around (``…まで有効``). An era year outside the era (``平成31年5月1日``,
    ``令和0年``) or an impossible day (``2月30日``) gives None rather than a guess.

    >>> parse_date("昭和64年1月7日生")
    datetime.date(1989, 1, 7)
    >>> parse_date("平成31年5月1日") is None
    True
    """
    text = normalize_width(text).upper()
    match = _ERA_DATE.search(text)
    if match is not None:
        era = _ERA_LETTERS.get(match[1], match[1])
        era_year = 1 if match[2] == "元" else int(match[2])
        start, end = ERAS[era]
        return _valid_date(start.year + era_year - 1, match[3], match[4], (start, end), era_year)
    match = _WESTERN_DATE.search(text)
    if match is None:
        return None
    return _valid_date(int(match[1]), match[2], match[3], (dt.date.min, dt.date.max), 1)


def _valid_date(
    year: int, month: str, day: str, span: tuple[dt.date, dt.date], era_year: int
) -> dt.date | None:
    if era_year < 1:
        return None
    try:
        date = dt.date(year, int(month), int(day))
    except ValueError:
        return None
    return date if span[0] <= date <= span[1] else None


def name_key(text: str) -> str:
    """A name's comparison key: NFKC, upper case, no whitespace, old kanji -> new, look-alikes.

    >>> name_key("髙橋　太郎"), name_key("Nguyen  van An")
    ('高橋太郎', 'NGUYENVANAN')
    """
    text = normalize_width(text).upper().translate(_KANJI_VARIANTS).translate(_LOOKALIKES)
    return "".join(text.split())


def _kanji_number(numeral: str) -> str:
    """``十二`` -> ``12`` for the small numbers used in 丁目 (1 to 99)."""
    tens, _, units = numeral.rpartition("十")
    if "十" not in numeral:
        return str(_KANJI_DIGITS[numeral]) if len(numeral) == 1 else numeral
    value = (_KANJI_DIGITS.get(tens, 1) if tens else 1) * 10 + _KANJI_DIGITS.get(units, 0)
    return str(value)


def address_key(text: str) -> str:
    """An address's comparison key: street number as ``1-2-3``, building dropped.

    ``東京都千代田区霞が関1丁目2番3号　コーポ桜101号室`` and ``東京都千代田区霞が関１－２－３``
    share the key ``東京都千代田区霞が関1-2-3``. Text after the street number (building, room)
    is dropped: applicants often omit it and cards print it wrapped or clipped. Spaces go
    only after the street number is found, so a room number cannot join it.

    >>> address_key("大阪府大阪市北区梅田三丁目12番地5　メゾン梅田202")
    '大阪府大阪市北区梅田3-12-5'
    """
    text = _CHOME_KANJI.sub(lambda m: _kanji_number(m[1]) + "丁目", normalize_width(text))
    match = _STREET_NUMBER.search(text) or _CHOME_ONLY.search(text)
    if match is None:
        return "".join(text.split()).translate(_LOOKALIKES)
    prefix = "".join(text[: match.start()].split()).translate(_LOOKALIKES)
    return prefix + "-".join(re.findall(r"\d+", match[0]))


def similarity(a: str, b: str) -> float:
    """``1 - Levenshtein(a, b) / max(len)``: 1.0 for equal strings, 0.0 for nothing shared.

    >>> round(similarity("東京都千代田区", "東京都千代田匹"), 3)
    0.857
    """
    if not a and not b:
        return 1.0
    return 1.0 - edit_distance(a, b) / max(len(a), len(b))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one each."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
