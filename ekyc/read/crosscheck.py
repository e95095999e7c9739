"""Compare the card's reads with the application, and refuse an expired document.

Rules (each ``FieldCheck`` names the one it used):

* date of birth: the dates are equal (after era/Western normalisation); a read whose era
  name lost its first character (``和45年03月11日``) matches when the rest is the declared
  date in its era (``_era_tail_shows``).
* name: ``name_key`` equal, or ``similarity >= NAME_MIN_SIMILARITY`` (0.9: one slip per
  ten characters, so a two-to-six-character kanji name must match exactly; a long Latin
  name may lose one letter to OCR). For a kanji or kana name, characters no such name
  prints (Latin letters, digits, ``|``, punctuation) are dropped from both sides first
  (``_name_chars``): they are the box's rules and OCR noise, never part of a name.
* address: part by part (``ekyc.read.address``): street numbers (``1-2-3``) equal, the
  prefecture the declared one within one edit (never exactly another of the 47), the
  locality (city, ward, town) at ``similarity >= LOCALITY_MIN_SIMILARITY`` (0.85: one slip
  per seven characters). A garbled prefecture with the rest matching is UNREADABLE, not a
  mismatch. Numbers are exact because they alone tell neighbours apart; the building is
  not compared.
* licence number (only when the applicant declared one): the 12 digits are equal.
* expiry: the document is valid through the printed day; ``today`` after it is expired.

An empty or date-less read is UNREADABLE, never a mismatch; the pipeline decides what to
ask for then. So is a name or address read that does not match and that is no reading at
all: the engine's own confidence under ``TEXT_MIN_CONFIDENCE`` (0.5), or a name in another
script than the declared one (``tb`` for a kanji name). On 90 photographed fronts (dev
seeds 21000-21029 per type, ``benchmarks/ocr.py --retake``, plain first reads) every exact
name read had a confidence of 0.64 or more, every exact address 0.85 or more, and the
garbage reads (``宇土 玉生`` for 中村太郎, ``ーー`` for an address) 0.12-0.45; a different
person's name read that clearly stays a mismatch.

Second reads (``more``: the failed fields read again with their background flattened, or
on the tilted shot of the same card) can only turn a field that did not match into a match,
or an unreadable one into a mismatch: a field matches when any of its reads matches under
the rule above (or, for a name, when clear same-length reads together show every declared
character in its place: ``_name_in_places``), else it is a mismatch when any read is one,
else unreadable. A missing expiry is taken from the first second read that has one.
Every read is OCR of the applicant's own card, so a second chance does not let another
person's name or date through unless the engine misreads it into exactly the declared one.

Glare over a field that failed adds ``GLARE_ON_FIELDS``, so the front end can ask for a
retake instead of reporting a mismatch.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ekyc.read.address import LOCALITY_MIN_SIMILARITY, PrefectureRead, compare_address_keys
from ekyc.read.applicant import Applicant
from ekyc.read.fields import FieldName
from ekyc.read.normalize import ERAS, address_key, name_key, normalize_width, similarity
from ekyc.read.ocr import FieldRead, FieldReads
from ekyc.verdict import ReasonCode

__all__ = [
    "ADDRESS_MIN_SIMILARITY",
    "NAME_MIN_SIMILARITY",
    "TEXT_MIN_CONFIDENCE",
    "CrossCheck",
    "FieldCheck",
    "Outcome",
]

NAME_MIN_SIMILARITY = 0.9
ADDRESS_MIN_SIMILARITY = LOCALITY_MIN_SIMILARITY
TEXT_MIN_CONFIDENCE = 0.5
NAME_IN_PLACES_READS = 2
GLARE_MAX_FRACTION = 0.02  # as quality's card-region limit: over 2 % of a field is covered


class Outcome(enum.Enum):
    """How one field compared."""

    MATCH = "match"
    MISMATCH = "mismatch"
    UNREADABLE = "unreadable"


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """One field compared: outcome, the rule applied, the score, and the read as evidence."""

    field: FieldName
    outcome: Outcome
    rule: str
    similarity: float | None
    read: FieldRead


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """The card's key fields against the application, and whether the card has expired.

    Attributes:
        checks: One per field compared (licence number only when declared).
        expiry_date: The expiry read, or None when unreadable.
        expired: ``today`` is after ``expiry_date``.
        reasons: Stable codes, in field order, without repeats.
    """

    checks: tuple[FieldCheck, ...]
    expiry_date: dt.date | None
    expired: bool
    reasons: tuple[ReasonCode, ...]

    @property
    def passed(self) -> bool:
        """Every field matched and the document is valid."""
        return not self.reasons


_MISMATCH_REASON = {
    FieldName.NAME: ReasonCode.NAME_MISMATCH,
    FieldName.BIRTH_DATE: ReasonCode.BIRTH_DATE_MISMATCH,
    FieldName.ADDRESS: ReasonCode.ADDRESS_MISMATCH,
    # No dedicated code yet: a different licence number is a different document.
    FieldName.LICENSE_NUMBER: ReasonCode.LICENSE_NUMBER_MISMATCH,
}


def _compare(read: FieldRead, applicant: Applicant) -> FieldCheck:
    birth = read.field is FieldName.BIRTH_DATE
    if birth and read.value is None and _era_tail_shows(read.raw_text, applicant.birth_date):
        return FieldCheck(read.field, Outcome.MATCH, _ERA_TAIL_RULE, None, read)
    if read.value is None:
        return FieldCheck(read.field, Outcome.UNREADABLE, "nothing usable read", None, read)
    if read.field is FieldName.BIRTH_DATE:
        same = read.value == applicant.birth_date
        return FieldCheck(read.field, _outcome(same), "dates equal", None, read)
    if read.field is FieldName.NAME:
        want = _declared_name(applicant)
        got = _name_chars(str(read.value), _script(want))
        score = similarity(got, want)
        rule = f"name_key similarity >= {NAME_MIN_SIMILARITY}"
        if score < NAME_MIN_SIMILARITY and _script(got) != _script(want):
            return FieldCheck(read.field, Outcome.UNREADABLE, _SCRIPT_RULE, score, read)
        return _unless_doubted(
            FieldCheck(read.field, _outcome(score >= NAME_MIN_SIMILARITY), rule, score, read)
        )
    if read.field is FieldName.ADDRESS:
        return _unless_doubted(_compare_address(read, applicant.address))
    want_digits = "".join(ch for ch in applicant.license_number or "" if ch.isdigit())
    return FieldCheck(read.field, _outcome(read.value == want_digits), "digits equal", None, read)


_SCRIPT_RULE = "no name in the declared script read (kanji/kana vs Latin letters)"
_DOUBTED_RULE = f"engine confidence < {TEXT_MIN_CONFIDENCE}: not a reading"


def _script(key: str) -> str:
    """``"japanese"`` with any kana or kanji, else ``"latin"`` with Latin letters, else ``""``."""
    japanese = any(ord(ch) >= 0x3040 for ch in key)
    if japanese:
        return "japanese"
    return "latin" if any("A" <= ch <= "Z" for ch in key) else ""


def _name_chars(key: str, script: str) -> str:
    """``key`` without what no Japanese name prints, when ``script`` is ``"japanese"``.

    A kanji or kana name is letters at or above U+3040 (kanji, kana, 々, ー): the rule
    next to the name's box read as ``|`` (``鈴木 蓮 |`` on seed 21078's tilted shot, the
    one exact read of that name), a finger's edge read as ``ea``, OCR's ``、`` or ``#``
    are none of them and are dropped before comparing. Another person's name still
    differs in the kanji or kana that are left. Latin names keep every character.

    >>> _name_chars("鈴木蓮|", "japanese"), _name_chars("O'BRIEN", "latin")
    ('鈴木蓮', "O'BRIEN")
    """
    if script != "japanese":
        return key
    return "".join(ch for ch in key if ord(ch) >= 0x3040 and unicodedata.category(ch)[0] == "L")


def _declared_name(applicant: Applicant) -> str:
    """The declared name's comparison key (``name_key``, then ``_name_chars``)."""
    key = name_key(applicant.full_name)
    return _name_chars(key, _script(key))


def _unless_doubted(check: FieldCheck) -> FieldCheck:
    """A mismatch read at a confidence the engine itself doubts is no reading: UNREADABLE."""
    if check.outcome is Outcome.MISMATCH and check.read.confidence < TEXT_MIN_CONFIDENCE:
        return FieldCheck(check.field, Outcome.UNREADABLE, _DOUBTED_RULE, check.similarity,
                          check.read)  # fmt: skip
    return check


_ERA_TAIL_RULE = "era date equal, the era name's first character lost or garbled"


def _era_tail_shows(text: str, date: dt.date) -> bool:
    """``text`` prints ``date`` in its era with the era name's first character lost.

    OCR drops or garbles the first glyph of a line now and then (a blurred edge, a card
    rectified a millimetre off): ``和45年03月11日生`` or ``中和45年…`` is 昭和45年 (or
    令和45年, which no applicant was born in) and is no date to ``parse_date``. Compared
    with the declared date only: the era's remaining character, its year, the month and
    the day must all be the declared ones, so a date that differs in any number stays
    unread, never a match; so does a first character that starts another era (平和45年).
    Seen on generated genuine applicants: seed 21125's licence, ``和45年03月11日生`` on
    the front and the tilted shot alike.

    >>> _era_tail_shows("和45年03月11日生", dt.date(1970, 3, 11))
    True
    >>> _era_tail_shows("和45年03月12日生", dt.date(1970, 3, 11))
    False
    """
    era = next((name for name, (start, end) in ERAS.items() if start <= date <= end), None)
    if era is None:
        return False
    year = date.year - ERAS[era][0].year + 1
    pattern = (rf"(?<![\d{''.join(n[0] for n in ERAS)}])" + re.escape(era[1])
               + rf"\s*0*{year}\s*年\s*0*{date.month}\s*月\s*0*{date.day}(?!\d)")  # fmt: skip
    return re.search(pattern, normalize_width(text)) is not None


def _compare_address(read: FieldRead, declared: str) -> FieldCheck:
    parts = compare_address_keys(str(read.value), address_key(declared))
    rule = (f"street numbers equal, prefecture within one edit, locality similarity >= "
            f"{LOCALITY_MIN_SIMILARITY}")  # fmt: skip
    if parts.differs:
        outcome = Outcome.MISMATCH
    elif parts.prefecture is PrefectureRead.UNREAD:
        outcome, rule = Outcome.UNREADABLE, "prefecture unread, the rest matches"
    else:
        outcome = Outcome.MATCH
    return FieldCheck(read.field, outcome, rule, parts.locality_similarity, read)


def _best(check: FieldCheck, more: Sequence[FieldReads], applicant: Applicant) -> FieldCheck:
    """The first match among ``check`` and its field's second reads, else a mismatch, else it."""
    if check.outcome is Outcome.MATCH:
        return check
    found, seen = check, [check]
    for reads in more:
        read = reads.get(check.field)
        again = _compare(read, applicant) if read is not None else None
        if again is None:
            continue
        if again.outcome is Outcome.MATCH:
            return again
        if again.outcome is Outcome.MISMATCH and found.outcome is Outcome.UNREADABLE:
            found = again
        seen.append(again)
    if check.field is FieldName.NAME:
        return _name_in_places(seen, _declared_name(applicant)) or found
    return found


def _name_in_places(checks: Sequence[FieldCheck], want: str) -> FieldCheck | None:
    """A match when clear same-length reads of the name show each declared character in place.

    ``NAME_IN_PLACES_READS`` or more reads are needed, each of the declared length.

    Each read of a blurred name slips on a different character (``木作美咲`` on the front,
    ``不村美咲`` on the tilted shot, for ``木村美咲``): no single read matches, but every
    character was read where it stands. Only clear readings count (a mismatch, not an
    unreadable read) and only character substitutions (equal lengths), so another
    person's name still fails unless the engine misreads each character that differs into
    exactly the declared one.
    """
    script = _script(want)
    keyed = [(c, _name_chars(str(c.read.value), script)) for c in checks
             if c.outcome is Outcome.MISMATCH]  # fmt: skip
    same_length = [(c, key) for c, key in keyed if len(key) == len(want)]
    if len(same_length) < NAME_IN_PLACES_READS:
        return None
    readings = [c for c, _ in same_length]
    keys = [key for _, key in same_length]
    if not all(any(key[i] == ch for key in keys) for i, ch in enumerate(want)):
        return None
    best = max(readings, key=lambda c: c.similarity or 0.0)
    rule = f"every character read in its place by one of {len(readings)} same-length reads"
    return FieldCheck(best.field, Outcome.MATCH, rule, best.similarity, best.read)


def _expiry_read(reads: FieldReads, more: Sequence[FieldReads]) -> FieldRead | None:
    """The expiry read, or the first second read with a date when it has none."""
    first = reads.get(FieldName.EXPIRY_DATE)
    if first is None or isinstance(first.value, dt.date):
        return first
    dated = (r.get(FieldName.EXPIRY_DATE) for r in more)
    return next((r for r in dated if r is not None and isinstance(r.value, dt.date)), first)


def _outcome(same: bool) -> Outcome:
    return Outcome.MATCH if same else Outcome.MISMATCH


def cross_check(reads: FieldReads, applicant: Applicant, today: dt.date,
                more: Sequence[FieldReads] = ()) -> CrossCheck:  # fmt: skip
    """Compare ``reads`` with ``applicant`` and check the expiry against ``today``.

    Args:
        reads: The card's key fields (``read_fields``).
        applicant: What the application declares.
        today: The date of the check, in Japan (the caller's clock, never read here).
        more: Second reads of some fields, tried in order where ``reads`` did not match.
    """
    checks = tuple(
        _best(_compare(read, applicant), more, applicant)
        for read in reads.fields
        if read.field is not FieldName.EXPIRY_DATE
        and (read.field is not FieldName.LICENSE_NUMBER or applicant.license_number)
    )
    expiry_read = _expiry_read(reads, more)
    expiry = expiry_read.value if expiry_read is not None else None
    expiry_date = expiry if isinstance(expiry, dt.date) else None
    expired = expiry_date is not None and today > expiry_date
    reasons: list[ReasonCode] = []
    for check in checks:
        if check.outcome is Outcome.MISMATCH:
            reasons.append(_MISMATCH_REASON[check.field])
    failed = [c.read for c in checks if c.outcome is not Outcome.MATCH]
    if any(c.outcome is Outcome.UNREADABLE for c in checks) or (
        expiry_read is not None and expiry_date is None
    ):
        reasons.append(ReasonCode.FIELD_UNREADABLE)
        failed += [expiry_read] if expiry_read is not None and expiry_date is None else []
    if any(read.glare_fraction > GLARE_MAX_FRACTION for read in failed):
        reasons.append(ReasonCode.GLARE_ON_FIELDS)
    if expired:
        reasons.append(ReasonCode.DOCUMENT_EXPIRED)
    return CrossCheck(checks, expiry_date, expired, tuple(dict.fromkeys(reasons)))
