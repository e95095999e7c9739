"""My Page registration (step 1 of the guide): terms, form, emailed code.

The journey: ``record_terms_opened`` (the server records that the terms were shown) ->
``register`` (form + consent naming that open event; mails a 6-digit code) ->
``verify_registration_code`` (or ``reissue_registration_code``) -> then
``loanflow.accounts.set_password`` issues the login ID.

Each function is one transaction that writes its audit row and its mails with it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from loanflow import audit, codes, mail
from loanflow.clock import JST, Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import (
    AlreadyRegistered,
    FieldProblem,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from loanflow.tables import Applicant, ApplicantStatus, TermsOpenEvent
from loanflow.validation import (
    check_birth_date,
    check_email,
    check_kana,
    check_optional_text,
    check_phone,
    check_postal_code,
    check_required_text,
)

__all__ = [
    "MYPAGE_TERMS",
    "REGISTRATION_CODE",
    "CodeIssued",
    "Registration",
    "TermsOpened",
    "record_terms_opened",
    "register",
    "reissue_registration_code",
    "validate_registration",
    "verify_registration_code",
]

MYPAGE_TERMS = "mypage_terms"
REGISTRATION_CODE = "registration"  # AuthCode.purpose
NAME_MAX_LENGTH = 30
ADDRESS_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Registration:
    """The My Page form. Optional fields pre-fill later application forms."""

    family_name: str
    given_name: str
    email: str
    email_confirmation: str
    home_phone: str  # half-width digits with hyphens: 06-1234-5678
    terms_open_id: str  # from record_terms_opened(): proves the terms were shown first
    terms_consent: bool
    family_name_kana: str | None = None  # full-width katakana
    given_name_kana: str | None = None
    birth_date: date | None = None
    postal_code: str | None = None  # 530-0001
    address: str | None = None
    mobile_phone: str | None = None  # 090-1234-5678


@dataclass(frozen=True, slots=True)
class TermsOpened:
    """The server's receipt that the terms were shown; the consent names ``id``."""

    id: str
    document: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class CodeIssued:
    """A registration that waits for its emailed code."""

    applicant_id: str
    code_expires_at: datetime


def validate_registration(form: Registration, *, today: date) -> None:
    """Raise ``ValidationFailed`` with every broken rule of the form (no database needed)."""
    problems: list[FieldProblem] = [
        *check_required_text("family_name", form.family_name, max_length=NAME_MAX_LENGTH),
        *check_required_text("given_name", form.given_name, max_length=NAME_MAX_LENGTH),
        *check_kana("family_name_kana", form.family_name_kana, max_length=NAME_MAX_LENGTH),
        *check_kana("given_name_kana", form.given_name_kana, max_length=NAME_MAX_LENGTH),
        *check_email(form.email, form.email_confirmation),
        *check_phone("home_phone", form.home_phone, required=True),
        *check_phone("mobile_phone", form.mobile_phone, required=False),
        *check_birth_date(form.birth_date, today=today),
        *check_postal_code(form.postal_code),
        *check_optional_text("address", form.address, max_length=ADDRESS_MAX_LENGTH),
    ]
    if not form.terms_consent:
        problems.append(FieldProblem("terms_consent", "required", "consent to the terms"))
    if problems:
        raise ValidationFailed(tuple(problems))


def record_terms_opened(
    db: SessionFactory, *, clock: Clock, document: str = MYPAGE_TERMS
) -> TermsOpened:
    """Record that ``document`` was shown to a (not yet registered) browser."""
    now = clock.now()
    event_id = secrets.token_urlsafe(24)
    with transaction(db) as session:
        session.add(TermsOpenEvent(id=event_id, document=document, opened_at=now))
        audit.record(
            session,
            at=now,
            actor=audit.ANONYMOUS,
            action="terms.opened",
            subject_type="terms_open_event",
            subject_id=event_id,
            detail={"document": document},
        )
    return TermsOpened(id=event_id, document=document, opened_at=now)


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _is_email_conflict(error: IntegrityError) -> bool:
    text = str(error.orig)  # SQLite names the column, PostgreSQL the constraint
    return "applicants.email" in text or "uq_applicants_email" in text


def register(db: SessionFactory, form: Registration, *, clock: Clock) -> CodeIssued:
    """Create a My Page and mail its code ("【ろうきん】認証コードのご案内").

    Raises:
        ValidationFailed: The form broke field rules (all are listed).
        AlreadyRegistered: The email has a My Page: the applicant should log in.
        InvalidTransition: The consent does not name an unused open of the terms.
    """
    now = clock.now()
    validate_registration(form, today=now.astimezone(JST).date())
    email = form.email.strip().lower()
    try:
        with transaction(db) as session:
            return _register(session, form, email, now)
    except IntegrityError as error:  # a concurrent registration of the same email won
        if _is_email_conflict(error):
            raise AlreadyRegistered("this email already has a My Page: please log in") from None
        raise


def _register(session: Session, form: Registration, email: str, now: datetime) -> CodeIssued:
    if session.scalar(sa.select(Applicant.id).where(Applicant.email == email)) is not None:
        raise AlreadyRegistered("this email already has a My Page: please log in")
    terms = session.get(TermsOpenEvent, form.terms_open_id, with_for_update=True)
    if terms is None or terms.document != MYPAGE_TERMS or terms.consumed_at is not None:
        raise InvalidTransition("the terms must be opened before consenting to them")
    applicant = Applicant(
        id=str(uuid.uuid4()),
        status=ApplicantStatus.CODE_PENDING,
        email=email,
        family_name=form.family_name.strip(),
        given_name=form.given_name.strip(),
        family_name_kana=_blank_to_none(form.family_name_kana),
        given_name_kana=_blank_to_none(form.given_name_kana),
        birth_date=form.birth_date,
        postal_code=_blank_to_none(form.postal_code),
        address=_blank_to_none(form.address),
        home_phone=form.home_phone.strip(),
        mobile_phone=_blank_to_none(form.mobile_phone),
        terms_consented_at=now,
        created_at=now,
    )
    session.add(applicant)
    session.flush()  # the applicant row must exist before rows that refer to it
    terms.consumed_at = now
    terms.applicant_id = applicant.id
    _record(session, applicant, now, "mypage.registered", {"terms_open_id": terms.id})
    return _send_code(session, applicant, now)


def _send_code(session: Session, applicant: Applicant, now: datetime) -> CodeIssued:
    issued = codes.issue_code(
        session, applicant_id=applicant.id, purpose=REGISTRATION_CODE, now=now
    )
    mail.enqueue(
        session,
        mail.AUTH_CODE_MAIL,
        to_addr=applicant.email,
        now=now,
        applicant_id=applicant.id,
        secret=issued.code,
        family_name=applicant.family_name,
        given_name=applicant.given_name,
        expires_at=mail.format_jst(issued.expires_at),
    )
    _record(session, applicant, now, "code.issued", {"purpose": REGISTRATION_CODE})
    return CodeIssued(applicant_id=applicant.id, code_expires_at=issued.expires_at)


def _record(
    session: Session, applicant: Applicant, now: datetime, action: str, detail: dict[str, str]
) -> None:
    audit.record(
        session,
        at=now,
        actor=audit.applicant_actor(applicant.id),
        action=action,
        subject_type="applicant",
        subject_id=applicant.id,
        detail=detail,
    )


def _locked_applicant(session: Session, applicant_id: str) -> Applicant:
    applicant = session.get(Applicant, applicant_id, with_for_update=True)
    if applicant is None:
        raise NotFound("no such applicant", applicant_id=applicant_id)
    return applicant


def reissue_registration_code(db: SessionFactory, applicant_id: str, *, clock: Clock) -> CodeIssued:
    """Mail a new code; every earlier registration code stops working.

    Raises:
        NotFound: No such applicant.
        InvalidTransition: The registration is past the code step.
    """
    now = clock.now()
    with transaction(db) as session:
        applicant = _locked_applicant(session, applicant_id)
        if applicant.status is not ApplicantStatus.CODE_PENDING:
            raise InvalidTransition("the code step is already done", status=applicant.status)
        return _send_code(session, applicant, now)


def verify_registration_code(
    db: SessionFactory, applicant_id: str, code: str, *, clock: Clock
) -> None:
    """Accept the emailed code; the applicant may then choose a password.

    Raises:
        NotFound: No such applicant.
        ValidationFailed: Not 6 half-width digits.
        CodeInvalid: Wrong code (the try is counted; ``attempts_left`` in context).
        TooManyAttempts: Five wrong tries: the code is dead; reissue.
        CodeExpired: More than 5 minutes since issue; reissue.
        Replay: The code was already used.
        InvalidTransition: No code is pending.
    """
    now = clock.now()
    with transaction(db) as session:
        applicant = _locked_applicant(session, applicant_id)
        refusal = codes.consume_code(
            session, applicant_id=applicant.id, purpose=REGISTRATION_CODE, code=code, now=now
        )
        if refusal is None:
            applicant.status = ApplicantStatus.PASSWORD_PENDING
            _record(session, applicant, now, "code.verified", {"purpose": REGISTRATION_CODE})
        else:
            _record(session, applicant, now, "code.rejected", {"error": refusal.code})
    if refusal is not None:
        raise refusal  # after the commit: the wrong try stays counted
