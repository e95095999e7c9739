"""Field rules of the guide's forms, as pure functions returning ``FieldProblem``s.

Each ``check_*`` returns the problems of one field (empty when fine), so a form reports
all of its problems at once in one ``ValidationFailed``. "Half-width" means ASCII:
``re`` classes are spelled ``[0-9]``, because ``\\d`` also matches full-width digits.
"""

from __future__ import annotations

import re
import string
from datetime import date

from loanflow.errors import FieldProblem

__all__ = [
    "PASSWORD_MIN_LENGTH",
    "PASSWORD_SYMBOLS",
    "check_birth_date",
    "check_email",
    "check_kana",
    "check_optional_text",
    "check_password",
    "check_phone",
    "check_postal_code",
    "check_required_text",
]

# The guide's list: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ , exactly ASCII punctuation.
PASSWORD_SYMBOLS = frozenset(string.punctuation)
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # not in the guide; bounds the work argon2 is asked to do
_PASSWORD_ALPHABET = frozenset(string.ascii_letters + string.digits) | PASSWORD_SYMBOLS

# Fixed lines and mobiles: 0 + area/mobile prefix, hyphenated, 10 or 11 digits in all.
_PHONE = re.compile(r"0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}")
_POSTAL_CODE = re.compile(r"[0-9]{3}-[0-9]{4}")
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
_KANA = re.compile(r"[ァ-ヶー　]+")  # full-width katakana, long vowel mark, full-width space
EMAIL_MAX_LENGTH = 254


def _has_control(text: str) -> bool:
    return any(ch < " " or ch == "\x7f" for ch in text)


def check_required_text(field: str, value: str, *, max_length: int) -> list[FieldProblem]:
    """Present (not blank), at most ``max_length`` characters, no control characters."""
    text = value.strip()
    if not text:
        return [FieldProblem(field, "required", "this field is required")]
    return check_optional_text(field, text, max_length=max_length)


def check_optional_text(field: str, value: str | None, *, max_length: int) -> list[FieldProblem]:
    """Absent, or at most ``max_length`` characters without control characters."""
    if value is None:
        return []
    if len(value.strip()) > max_length:
        return [FieldProblem(field, "too_long", f"at most {max_length} characters")]
    if _has_control(value):
        return [FieldProblem(field, "format", "control characters are not allowed")]
    return []


def check_kana(field: str, value: str | None, *, max_length: int = 30) -> list[FieldProblem]:
    """Absent, or full-width katakana (ー and full-width space allowed), <= ``max_length``."""
    if value is None or not value.strip():
        return []
    text = value.strip()
    if len(text) > max_length:
        return [FieldProblem(field, "too_long", f"at most {max_length} characters")]
    if not _KANA.fullmatch(text):
        return [FieldProblem(field, "format", "full-width katakana only")]
    return []


def check_email(value: str, confirmation: str) -> list[FieldProblem]:
    """An address (ASCII, ``local@domain.tld``, <= 254), entered twice identically."""
    email = value.strip()
    if not email:
        return [FieldProblem("email", "required", "this field is required")]
    if len(email) > EMAIL_MAX_LENGTH:
        return [FieldProblem("email", "too_long", f"at most {EMAIL_MAX_LENGTH} characters")]
    if not _EMAIL.fullmatch(email):
        return [FieldProblem("email", "format", "not an email address")]
    if confirmation.strip() != email:
        return [FieldProblem("email_confirmation", "mismatch", "the two addresses differ")]
    return []


def check_phone(field: str, value: str | None, *, required: bool) -> list[FieldProblem]:
    """Half-width digits with hyphens, e.g. ``06-1234-5678`` or ``090-1234-5678``."""
    if value is None or not value.strip():
        return [FieldProblem(field, "required", "this field is required")] if required else []
    phone = value.strip()
    digits = phone.replace("-", "")
    if not _PHONE.fullmatch(phone) or len(digits) not in (10, 11):
        return [FieldProblem(field, "format", "half-width digits with hyphens: 06-1234-5678")]
    return []


def check_postal_code(value: str | None) -> list[FieldProblem]:
    """Absent, or ``NNN-NNNN`` in half-width digits."""
    if value is None or not value.strip():
        return []
    if not _POSTAL_CODE.fullmatch(value.strip()):
        return [FieldProblem("postal_code", "format", "half-width NNN-NNNN, e.g. 530-0001")]
    return []


def check_birth_date(value: date | None, *, today: date) -> list[FieldProblem]:
    """Absent, or a date between 1900-01-01 and ``today`` (JST)."""
    if value is None:
        return []
    if value > today or value < date(1900, 1, 1):
        return [FieldProblem("birth_date", "out_of_range", "not a possible birth date")]
    return []


def check_password(password: str, confirmation: str) -> list[FieldProblem]:
    """The guide's password rule; every broken part is reported.

    At least 8 characters, only half-width letters, digits and the symbols
    ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``, with at least one of each kind, entered twice
    identically. Never strips: spaces are simply not allowed.

    >>> [p.rule for p in check_password("abc12345", "abc12345")]
    ['missing_symbol']
    """
    problems: list[FieldProblem] = []

    def problem(rule: str, message: str) -> None:
        problems.append(FieldProblem("password", rule, message))

    if len(password) < PASSWORD_MIN_LENGTH:
        problem("too_short", f"at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        problem("too_long", f"at most {PASSWORD_MAX_LENGTH} characters")
    if not set(password) <= _PASSWORD_ALPHABET:
        problem("invalid_character", "only half-width letters, digits and the listed symbols")
    if not any(ch in string.ascii_letters for ch in password):
        problem("missing_letter", "include a half-width letter")
    if not any(ch in string.digits for ch in password):
        problem("missing_digit", "include a half-width digit")
    if not any(ch in PASSWORD_SYMBOLS for ch in password):
        problem("missing_symbol", "include a symbol")
    if confirmation != password:
        problems.append(FieldProblem("password_confirmation", "mismatch", "the two differ"))
    return problems
