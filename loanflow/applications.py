"""Applications (steps 3 and 5 of the guide): create, fill in, confirm, submit, withdraw.

The journey: ``create_application`` (provisional pre-screening or full) ->
``save_basic`` -> ``save_detailed`` -> documents (``loanflow.documents``) ->
``confirm`` (the confirmation screen) -> consents (``loanflow.consents``) -> ``submit``.
A provisional application approved by the bank is followed by
``start_full_application``, which carries its answers over. ``copy_application``
starts a new draft from any earlier one.

Every step is one transaction on the applicant's own, locked application (another
applicant's is ``Forbidden``), moved only along ``loanflow.states.TRANSITIONS``; a refused
step raises and changes nothing. Submission writes the new state, the audit row, the
mails and the eKYC URL together: a crash leaves the old state or the new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow import audit, ekyc_session, mail
from loanflow.access import owned_application, record
from loanflow.application_mails import APPLICATION_RECEIVED_MAIL
from loanflow.application_tables import (
    Application,
    ApplicationFile,
    ApplicationStatus,
    EkycStatus,
    FileKind,
)
from loanflow.clock import JST, Clock
from loanflow.consents import missing_consents
from loanflow.db import SessionFactory, transaction
from loanflow.ekyc_session import DEFAULT_EKYC_BASE_URL, IssuedUrl
from loanflow.errors import FieldProblem, InvalidTransition, NotFound, ValidationFailed
from loanflow.forms import ApplicationKind, BasicInfo, DetailedInfo, from_json, to_json
from loanflow.products import ProductCode, product
from loanflow.rules import check_basic, check_detailed
from loanflow.states import Action, next_status
from loanflow.tables import Applicant, ApplicantStatus
from loanflow.validation import check_required_text

__all__ = [
    "KIND_NAMES",
    "Submitted",
    "confirm",
    "copy_application",
    "create_application",
    "forms_of",
    "save_basic",
    "save_detailed",
    "start_full_application",
    "submit",
    "withdraw",
]

KIND_NAMES = {ApplicationKind.PROVISIONAL: "仮審査申込", ApplicationKind.FULL: "本申込"}
WITHDRAW_REASON_MAX = 200


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submitted application; ``ekyc`` is the mailed URL (full applications)."""

    application_id: str
    submitted_at: datetime
    ekyc: IssuedUrl | None


def _today(now: datetime) -> date:
    return now.astimezone(JST).date()


def _actor(applicant_id: str) -> str:
    return audit.applicant_actor(applicant_id)


def _move(application: Application, action: Action, now: datetime) -> None:
    application.status = next_status(application.status, action, application.kind)
    application.updated_at = now


def _new(
    session: Session,
    applicant_id: str,
    kind: ApplicationKind,
    product_code: ProductCode,
    now: datetime,
) -> Application:
    applicant = session.get(Applicant, applicant_id)
    if applicant is None:
        raise NotFound("no such applicant", applicant_id=applicant_id)
    if applicant.status is not ApplicantStatus.ACTIVE:
        raise InvalidTransition("finish the My Page registration first", status=applicant.status)
    application = Application(
        id=str(uuid.uuid4()),
        applicant_id=applicant_id,
        kind=kind,
        product=product_code,
        status=ApplicationStatus.DRAFT,
        revision=0,
        ekyc_status=(
            EkycStatus.PENDING if kind is ApplicationKind.FULL else EkycStatus.NOT_REQUIRED
        ),
        created_at=now,
        updated_at=now,
    )
    session.add(application)
    session.flush()  # rows that refer to it follow
    return application


def create_application(
    db: SessionFactory,
    applicant_id: str,
    *,
    kind: ApplicationKind,
    product_code: ProductCode,
    clock: Clock,
) -> str:
    """Start a draft application; returns its id.

    Raises:
        NotFound: No such applicant.
        InvalidTransition: The My Page registration is not finished.
    """
    now = clock.now()
    with transaction(db) as session:
        application = _new(session, applicant_id, kind, product_code, now)
        detail = {"kind": kind.value, "product": product_code.value}
        record(
            session,
            application,
            at=now,
            actor=_actor(applicant_id),
            action="application.created",
            detail=detail,
        )
        return application.id


def _carry_over(
    db: SessionFactory,
    applicant_id: str,
    source_id: str,
    clock: Clock,
    *,
    full_after_prescreen: bool,
) -> str:
    now = clock.now()
    with transaction(db) as session:
        source = owned_application(session, applicant_id, source_id)
        kind = source.kind
        if full_after_prescreen:
            if (
                source.kind is not ApplicationKind.PROVISIONAL
                or source.status is not ApplicationStatus.PRESCREEN_APPROVED
            ):
                raise InvalidTransition("the pre-screening is not approved", status=source.status)
            taken = session.scalar(
                sa.select(Application.id).where(Application.prescreen_id == source.id)
            )
            if taken is not None:
                raise InvalidTransition(
                    "the full application was already started", application_id=taken
                )
            kind = ApplicationKind.FULL
        application = _new(session, applicant_id, kind, source.product, now)
        application.basic = source.basic
        application.detailed = source.detailed
        if full_after_prescreen:
            application.prescreen_id = source.id
        else:
            application.copied_from_id = source.id
        action = "application.full_started" if full_after_prescreen else "application.copied"
        record(
            session,
            application,
            at=now,
            actor=_actor(applicant_id),
            action=action,
            detail={"from": source.id},
        )
        return application.id


def start_full_application(
    db: SessionFactory, applicant_id: str, prescreen_id: str, *, clock: Clock
) -> str:
    """Start the full application that follows an approved pre-screening (once).

    The answers are carried over; transfer accounts and documents are still to be added.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: Not an approved provisional application, or already followed.
    """
    return _carry_over(db, applicant_id, prescreen_id, clock, full_after_prescreen=True)


def copy_application(db: SessionFactory, applicant_id: str, source_id: str, *, clock: Clock) -> str:
    """A new draft of the same kind and product with the same answers (no files, no consents)."""
    return _carry_over(db, applicant_id, source_id, clock, full_after_prescreen=False)


def forms_of(application: Application) -> tuple[BasicInfo | None, DetailedInfo | None]:
    """The stored forms of ``application``, decoded."""
    basic = from_json(BasicInfo, application.basic) if application.basic else None
    detailed = from_json(DetailedInfo, application.detailed) if application.detailed else None
    return basic, detailed


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(tuple(problems))


def _check_all(application: Application, today: date) -> tuple[BasicInfo, DetailedInfo]:
    basic, detailed = forms_of(application)
    if basic is None or detailed is None:
        raise InvalidTransition("enter the basic and the detailed info first")
    _raise_if(
        check_basic(basic, today=today)
        + check_detailed(
            detailed,
            product=product(application.product),
            kind=application.kind,
            basic=basic,
            today=today,
        )
    )
    return basic, detailed


def _edit(session: Session, application: Application, now: datetime, action: str) -> int:
    _move(application, Action.EDIT, now)  # after confirmation: back to draft
    application.revision += 1  # the consents given so far no longer count
    application.confirmed_at = None
    record(
        session,
        application,
        at=now,
        actor=_actor(application.applicant_id),
        action=action,
        detail={"revision": application.revision},
    )
    return application.revision


def save_basic(
    db: SessionFactory, applicant_id: str, application_id: str, info: BasicInfo, *, clock: Clock
) -> int:
    """Save 基本情報; returns the new revision.

    Raises:
        ValidationFailed: Every broken rule (``loanflow.rules.check_basic``).
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: Past the confirmation step (submitted or later).
    """
    now = clock.now()
    _raise_if(check_basic(info, today=_today(now)))
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        next_status(application.status, Action.EDIT, application.kind)
        application.basic = to_json(info)
        return _edit(session, application, now, "application.basic_saved")


def save_detailed(
    db: SessionFactory, applicant_id: str, application_id: str, info: DetailedInfo, *, clock: Clock
) -> int:
    """Save 詳細情報 (after the basic info, which the consolidation rule reads).

    Raises:
        ValidationFailed: Every broken rule (``loanflow.rules.check_detailed``).
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: No basic info yet, or past the confirmation step.
    """
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        next_status(application.status, Action.EDIT, application.kind)
        basic, _ = forms_of(application)
        if basic is None:
            raise InvalidTransition("enter the basic info first")
        _raise_if(
            check_detailed(
                info,
                product=product(application.product),
                kind=application.kind,
                basic=basic,
                today=_today(now),
            )
        )
        application.detailed = to_json(info)
        return _edit(session, application, now, "application.detailed_saved")


def confirm(db: SessionFactory, applicant_id: str, application_id: str, *, clock: Clock) -> int:
    """Show the confirmation screen: every rule holds; consents may now be given.

    Returns:
        The revision the consents will be given to.

    Raises:
        ValidationFailed: A rule no longer holds (e.g. the loan date is now too near).
        InvalidTransition: Not a draft, or a form is missing.
        NotFound, Forbidden: No such application / another applicant's.
    """
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        next_status(application.status, Action.CONFIRM, application.kind)
        _check_all(application, _today(now))
        _move(application, Action.CONFIRM, now)
        application.confirmed_at = now
        record(
            session,
            application,
            at=now,
            actor=_actor(applicant_id),
            action="application.confirmed",
            detail={"revision": application.revision},
        )
        return application.revision


def _check_submittable(session: Session, application: Application, today: date) -> None:
    _check_all(application, today)
    missing = missing_consents(session, application)
    if missing:
        raise InvalidTransition("some consents are missing", missing=list(missing))
    if application.kind is ApplicationKind.FULL:
        uploads = session.scalar(
            sa.select(sa.func.count())
            .select_from(ApplicationFile)
            .where(
                ApplicationFile.application_id == application.id,
                ApplicationFile.kind == FileKind.UPLOAD,
            )
        )
        if not uploads:
            _raise_if([FieldProblem("documents", "required", "attach the required documents")])


def submit(
    db: SessionFactory,
    applicant_id: str,
    application_id: str,
    *,
    clock: Clock,
    ekyc_base_url: str = DEFAULT_EKYC_BASE_URL,
) -> Submitted:
    """Submit: mails ローン申込受付のお知らせ and, for a full application, the eKYC URL.

    Raises:
        InvalidTransition: Not confirmed, or a consent of this revision is missing.
        ValidationFailed: A rule no longer holds, or a full application has no document.
        NotFound, Forbidden: No such application / another applicant's.
    """
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        next_status(application.status, Action.SUBMIT, application.kind)
        _check_submittable(session, application, _today(now))
        _move(application, Action.SUBMIT, now)
        application.submitted_at = now
        record(
            session,
            application,
            at=now,
            actor=_actor(applicant_id),
            action="application.submitted",
            detail={"revision": application.revision},
        )
        _mail_received(session, application, now)
        issued = None
        if application.kind is ApplicationKind.FULL:
            issued = ekyc_session.issue_url(
                session, application, now=now, base_url=ekyc_base_url, actor=_actor(applicant_id)
            )
        return Submitted(application_id=application.id, submitted_at=now, ekyc=issued)


def _mail_received(session: Session, application: Application, now: datetime) -> None:
    applicant = session.get_one(Applicant, application.applicant_id)
    mail.enqueue(
        session,
        APPLICATION_RECEIVED_MAIL,
        to_addr=applicant.email,
        now=now,
        applicant_id=applicant.id,
        family_name=applicant.family_name,
        given_name=applicant.given_name,
        product_name=product(application.product).name,
        kind_name=KIND_NAMES[application.kind],
        submitted_at=mail.format_jst(now),
        application_id=application.id,
    )


def withdraw(
    db: SessionFactory, applicant_id: str, application_id: str, reason: str, *, clock: Clock
) -> None:
    """Withdraw the application with a reason; its eKYC URLs stop working.

    Raises:
        ValidationFailed: No reason, or a reason over 200 characters.
        InvalidTransition: Decided, signed or already withdrawn.
        NotFound, Forbidden: No such application / another applicant's.
    """
    _raise_if(check_required_text("reason", reason, max_length=WITHDRAW_REASON_MAX))
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        _move(application, Action.WITHDRAW, now)
        application.withdraw_reason = reason.strip()
        record(
            session,
            application,
            at=now,
            actor=_actor(applicant_id),
            action="application.withdrawn",
            detail={},
        )
