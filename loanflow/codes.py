"""One-time numeric codes sent by mail: issue, reissue and check.

A code is 6 digits from ``secrets``, valid 5 minutes unless the caller sets its expiry
(the e-signature code lasts until its deadline), and stored only as a salted SHA-256
compared in constant time. A code may belong to one application (``application_id``), so
one applicant's codes for two applications never supersede each other. Five wrong tries
kill a code (a reissue is then needed), a reissue invalidates every earlier code of the
same purpose (and application), and a used code never works again.

These functions work inside the caller's transaction so that the code, the state change
it belongs to, the mail and the audit row commit together.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow.errors import (
    CodeError,
    CodeExpired,
    CodeInvalid,
    FieldProblem,
    InvalidTransition,
    Replay,
    TooManyAttempts,
    ValidationFailed,
)
from loanflow.tables import AuthCode

__all__ = ["CODE_DIGITS", "CODE_TTL", "MAX_ATTEMPTS", "IssuedCode", "consume_code", "issue_code"]

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)  # the guide's validity period
MAX_ATTEMPTS = 5  # wrong tries before the code dies: 5 in 10**6 guesses per issued code


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A freshly issued code; ``code`` is in clear only long enough to be mailed."""

    code: str
    expires_at: datetime


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + code.encode("ascii")).hexdigest()


def issue_code(
    session: Session,
    *,
    applicant_id: str,
    purpose: str,
    now: datetime,
    expires_at: datetime | None = None,
    application_id: str | None = None,
) -> IssuedCode:
    """Invalidate the applicant's open codes for ``purpose`` and add a new one.

    Args:
        session: The caller's transaction.
        applicant_id: Whose code it is.
        purpose: A slug such as ``"registration"`` or ``"esign"``.
        now: Issue time.
        expires_at: End of validity; ``now + CODE_TTL`` by default.
        application_id: The application the code belongs to, if any: only that
            application's open codes are invalidated.
    """
    session.execute(
        sa.update(AuthCode)
        .where(
            AuthCode.applicant_id == applicant_id,
            AuthCode.purpose == purpose,
            AuthCode.application_id.is_(None)
            if application_id is None
            else AuthCode.application_id == application_id,
            AuthCode.consumed_at.is_(None),
            AuthCode.invalidated_at.is_(None),
        )
        .values(invalidated_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    if expires_at is None:
        expires_at = now + CODE_TTL
    elif expires_at <= now:
        raise ValueError(f"expires_at {expires_at} is not after now {now}")
    session.add(
        AuthCode(
            applicant_id=applicant_id,
            application_id=application_id,
            purpose=purpose,
            salt=salt,
            code_hash=_digest(salt, code),
            issued_at=now,
            expires_at=expires_at,
            attempts=0,
        )
    )
    return IssuedCode(code=code, expires_at=expires_at)


def consume_code(
    session: Session,
    *,
    applicant_id: str,
    purpose: str,
    code: str,
    now: datetime,
    application_id: str | None = None,
) -> CodeError | None:
    """Check ``code`` against the applicant's latest code for ``purpose`` (and application).

    Refusals that change nothing are raised here: ``ValidationFailed`` (not 6 half-width
    digits), ``InvalidTransition`` (no code pending), ``Replay`` (the latest code was
    already used and this is it), ``TooManyAttempts`` (the code is dead), ``CodeExpired``.

    Returns:
        ``None`` when the code matched (it is now consumed). Otherwise the wrong try has
        been counted in ``session`` and the error is *returned*: the caller commits the
        count, then raises it (``CodeInvalid``, or ``TooManyAttempts`` on the last try).
    """
    if len(code) != CODE_DIGITS or not (code.isascii() and code.isdigit()):
        raise ValidationFailed(
            (FieldProblem("code", "format", f"enter the {CODE_DIGITS} half-width digits"),)
        )
    latest = session.scalars(
        sa.select(AuthCode)
        .where(
            AuthCode.applicant_id == applicant_id,
            AuthCode.purpose == purpose,
            AuthCode.application_id.is_(None)
            if application_id is None
            else AuthCode.application_id == application_id,
        )
        .order_by(AuthCode.id.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if latest is None or latest.invalidated_at is not None:
        raise InvalidTransition("no code has been issued", purpose=purpose)
    matches = hmac.compare_digest(latest.code_hash, _digest(latest.salt, code))
    if latest.consumed_at is not None:
        if matches:
            raise Replay("this code has already been used", purpose=purpose)
        raise InvalidTransition("no code is pending", purpose=purpose)
    if latest.attempts >= MAX_ATTEMPTS:
        raise TooManyAttempts("too many wrong codes: ask for a new code", purpose=purpose)
    if now > latest.expires_at:
        raise CodeExpired("the code has expired: ask for a new code", purpose=purpose)
    if matches:
        latest.consumed_at = now
        return None
    latest.attempts += 1
    left = MAX_ATTEMPTS - latest.attempts
    if left == 0:
        return TooManyAttempts("too many wrong codes: ask for a new code", purpose=purpose)
    return CodeInvalid("the code is wrong", purpose=purpose, attempts_left=left)
