"""An address read against the declared one, part by part: prefecture, locality, street number.

A Japanese address is a prefecture (one of 47: a closed list), a locality (municipality,
ward, town) and a street number (``1-2-3`` once normalised by ``address_key``). The parts
carry different information and OCR fails on them differently, so each has its own rule:

* **street number**: equal, digit for digit. Numbers alone tell neighbours apart.
* **prefecture**: the read's first characters are the declared prefecture within one edit
  (Levenshtein distance <= 1 over a slot of the prefecture's length, or one character
  shorter or longer), unless they are exactly another of the 47 (then it is another
  address). A slot that is neither is *unread*: OCR garbled it (``調古才`` for ``東京都`` on
  a blurred front) and another read of the card may still settle it. One slip is allowed
  because a prefecture is a short word from a list of 47 whose members differ in at least
  one character of their first three; the locality, compared next, is what tells two
  addresses in sister prefectures apart (``福島県福島市`` is not ``福岡県福岡市``).
* **locality**: ``similarity >= LOCALITY_MIN_SIMILARITY`` (0.85: one slip per seven
  characters), the session-3 rule for the text before the number, now without the
  prefecture, which no longer spends the locality's allowance: the slips are counted over
  the declared prefecture and locality together, as that rule counted them, with the
  prefecture taken as read right (``locality_similarity``). Counted over the locality
  alone, a short one lost the allowance instead: dev seed 21070's ``那記市久茂地`` for
  ``那覇市久茂地`` (one slip in six, 0.83; street numbers and prefecture exact) became a
  mismatch where the whole-text rule read it as the declared address (8 / 9 = 0.89).

A declared address that starts with no prefecture is compared as a whole locality.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ekyc.read.normalize import edit_distance, similarity

__all__ = [
    "LOCALITY_MIN_SIMILARITY",
    "PREFECTURES",
    "AddressComparison",
    "PrefectureRead",
    "compare_address_keys",
    "declared_prefecture",
]

PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip
"""Japan's 47 prefectures (都道府県) in their official order (JIS X 0401 codes 01-47)."""

LOCALITY_MIN_SIMILARITY = 0.85
_STREET = re.compile(r"\d+(?:-\d+)*$")


class PrefectureRead(enum.Enum):
    """How the read's prefecture compares with the declared one."""

    SAME = "same"  # the declared prefecture, within one edit
    OTHER = "other"  # exactly another of the 47
    UNREAD = "unread"  # neither: garbled


@dataclass(frozen=True, slots=True)
class AddressComparison:
    """The parts of one address read compared with the declared address's.

    Attributes:
        prefecture: SAME, OTHER or UNREAD (SAME when the declared address names none).
        locality_similarity: ``similarity`` of the localities (text after the prefecture,
            before the street number), each preceded by the declared prefecture: its slips
            counted over both parts' length, the prefecture's own slips left out.
        street_equal: The street numbers are equal (both absent counts as equal).
    """

    prefecture: PrefectureRead
    locality_similarity: float
    street_equal: bool

    @property
    def differs(self) -> bool:
        """Another address: another prefecture, number, or a locality beyond the slips."""
        return (
            self.prefecture is PrefectureRead.OTHER
            or not self.street_equal
            or self.locality_similarity < LOCALITY_MIN_SIMILARITY
        )

    @property
    def same(self) -> bool:
        """The declared address, every part settled."""
        return not self.differs and self.prefecture is PrefectureRead.SAME


def declared_prefecture(key: str) -> str:
    """The prefecture ``key`` starts with, or ``""`` when it names none.

    >>> declared_prefecture("東京都世田谷区三軒茶屋2-3-8"), declared_prefecture("世田谷区")
    ('東京都', '')
    """
    return next((p for p in PREFECTURES if key.startswith(p)), "")


def _prefecture_slot(read: str, prefecture: str) -> tuple[PrefectureRead, int]:
    """How ``read`` starts against the declared ``prefecture``, and the slot's length."""
    if read.startswith(prefecture):
        return PrefectureRead.SAME, len(prefecture)
    other = declared_prefecture(read)
    if other:
        return PrefectureRead.OTHER, len(other)
    n = len(prefecture)
    for k in (n, n - 1, n + 1):
        if k > 0 and edit_distance(read[:k], prefecture) <= 1:
            return PrefectureRead.SAME, k
    return PrefectureRead.UNREAD, n


def compare_address_keys(read: str, declared: str) -> AddressComparison:
    """Compare two ``address_key`` forms part by part (see the module's rules).

    >>> compare_address_keys("素京都世田谷区三軒茶屋2-3-8", "東京都世田谷区三軒茶屋2-3-8").same
    True
    >>> compare_address_keys("京都府京都市左京区岡崎2-3-8", "東京都世田谷区三軒茶屋2-3-8").differs
    True
    """
    read_no, want_no = _STREET.search(read), _STREET.search(declared)
    read_text = read[: read_no.start()] if read_no else read
    want_text = declared[: want_no.start()] if want_no else declared
    prefecture = declared_prefecture(want_text)
    if prefecture:
        seen, slot = _prefecture_slot(read_text, prefecture)
        read_text, want_text = read_text[slot:], want_text[len(prefecture) :]
    else:
        seen = PrefectureRead.SAME
    street_equal = (read_no[0] if read_no else "") == (want_no[0] if want_no else "")
    locality = similarity(prefecture + read_text, prefecture + want_text)
    return AddressComparison(seen, locality, street_equal)
