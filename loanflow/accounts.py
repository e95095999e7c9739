"""Password, system-issued login ID and login (step 2 of the guide).

``set_password`` follows a verified registration code: it checks the guide's password
rule, stores an argon2id hash, issues a login ID the applicant can neither choose nor
change, and mails it ("【ろうきん】ログインIDのご案内"). ``login`` takes login ID +
password; five failures in a row lock the account for 30 minutes.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from loanflow import audit, mail
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import (
    AccountLocked,
    AuthenticationError,
    InvalidTransition,
    LoginFailed,
    NotFound,
    ValidationFailed,
)
from loanflow.tables import Applicant, ApplicantStatus, Credential
from loanflow.validation import check_password

__all__ = [
    "DEFAULT_HASHER",
    "LOCKOUT",
    "LOGIN_ID_ALPHABET",
    "LOGIN_ID_LENGTH",
    "MAX_FAILED_LOGINS",
    "LoggedIn",
    "login",
    "new_login_id",
    "set_password",
]

# No 0/O or 1/I: the ID is read from a mail and typed on a phone. 32**10 = 2**50 IDs.
LOGIN_ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LOGIN_ID_LENGTH = 10
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=30)

# argon2id, RFC 9106 low-memory profile (argon2-cffi's default): about 0.3 s per hash on
# two cores. Callers may pass another ``hasher`` (tests use a cheap one); stored hashes
# made with other parameters are rehashed with the caller's at the next login.
DEFAULT_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against for unknown login IDs, so they cost as much as known ones."""
    return hasher.hash(secrets.token_urlsafe(16))


def _verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_login_id() -> str:
    """A random login ID from ``LOGIN_ID_ALPHABET`` (uniqueness is checked on insert)."""
    return "".join(secrets.choice(LOGIN_ID_ALPHABET) for _ in range(LOGIN_ID_LENGTH))


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A successful login."""

    applicant_id: str
    at: datetime


def _unused_login_id(session: Session) -> str:
    for _ in range(8):  # a collision is a 2**-50 event; eight in a row means a bug
        login_id = new_login_id()
        taken = session.scalar(
            sa.select(Credential.login_id).where(Credential.login_id == login_id)
        )
        if taken is None:
            return login_id
    raise RuntimeError("could not draw an unused login ID")  # pragma: no cover


def set_password(
    db: SessionFactory,
    applicant_id: str,
    password: str,
    confirmation: str,
    *,
    clock: Clock,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> None:
    """Set the password after the code step, issue the login ID and mail it.

    Raises:
        ValidationFailed: The password breaks the guide's rule or the two entries differ.
        NotFound: No such applicant.
        InvalidTransition: The code was not verified yet, or the password is already set.
    """
    problems = check_password(password, confirmation)
    if problems:
        raise ValidationFailed(tuple(problems))
    password_hash = hasher.hash(password)  # slow on purpose: outside the transaction
    now = clock.now()
    with transaction(db) as session:
        applicant = session.get(Applicant, applicant_id, with_for_update=True)
        if applicant is None:
            raise NotFound("no such applicant", applicant_id=applicant_id)
        if applicant.status is not ApplicantStatus.PASSWORD_PENDING:
            raise InvalidTransition(
                "a password is set once, after the code", status=applicant.status
            )
        login_id = _unused_login_id(session)
        session.add(
            Credential(
                applicant_id=applicant.id,
                login_id=login_id,
                password_hash=password_hash,
                failed_logins=0,
                issued_at=now,
                password_changed_at=now,
            )
        )
        applicant.status = ApplicantStatus.ACTIVE
        mail.enqueue(
            session,
            mail.LOGIN_ID_MAIL,
            to_addr=applicant.email,
            now=now,
            applicant_id=applicant.id,
            family_name=applicant.family_name,
            given_name=applicant.given_name,
            login_id=login_id,
        )
        _record(session, applicant.id, now, "account.activated", {})


def _record(
    session: Session, applicant_id: str, now: datetime, action: str, detail: dict[str, object]
) -> None:
    audit.record(
        session,
        at=now,
        actor=audit.applicant_actor(applicant_id),
        action=action,
        subject_type="applicant",
        subject_id=applicant_id,
        detail=detail,
    )


def login(
    db: SessionFactory,
    login_id: str,
    password: str,
    *,
    clock: Clock,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> LoggedIn:
    """Log in with the system-issued login ID and the password.

    An unknown login ID costs one argon2 verification like a known one and fails the
    same way, so responses do not reveal which IDs exist.

    Raises:
        LoginFailed: Unknown login ID or wrong password (a known ID's failure is counted).
        AccountLocked: Five failures in a row; ``locked_until`` in context. A correct
            password does not help until then.
    """
    now = clock.now()
    typed_id = login_id.strip().upper()
    with transaction(db) as session:
        credential = session.scalars(
            sa.select(Credential).where(Credential.login_id == typed_id).with_for_update()
        ).first()
        if credential is None:
            _verify(hasher, _dummy_hash(hasher), password)
            raise LoginFailed("the login ID or the password is wrong")
        if credential.locked_until is not None and now < credential.locked_until:
            raise AccountLocked("too many failed logins", locked_until=credential.locked_until)
        outcome = _check(session, credential, password, now, hasher)
    if isinstance(outcome, AuthenticationError):
        raise outcome  # after the commit: the failure stays counted
    return outcome


def _check(
    session: Session, credential: Credential, password: str, now: datetime, hasher: PasswordHasher
) -> LoggedIn | AuthenticationError:
    applicant_id = credential.applicant_id
    if _verify(hasher, credential.password_hash, password):
        credential.failed_logins = 0
        credential.locked_until = None
        if hasher.check_needs_rehash(credential.password_hash):
            credential.password_hash = hasher.hash(password)
        _record(session, applicant_id, now, "login.succeeded", {})
        return LoggedIn(applicant_id=applicant_id, at=now)
    credential.failed_logins += 1
    _record(session, applicant_id, now, "login.failed", {"in_a_row": credential.failed_logins})
    if credential.failed_logins < MAX_FAILED_LOGINS:
        return LoginFailed("the login ID or the password is wrong")
    locked_until = now + LOCKOUT
    credential.failed_logins = 0  # after the lock, five more failures lock again
    credential.locked_until = locked_until
    _record(session, applicant_id, now, "account.locked", {"until": locked_until.isoformat()})
    return AccountLocked("too many failed logins", locked_until=locked_until)
