"""The e-signature and the contract (step 8, second half).

Approval of a full application (``review.set_review_result``) opens the e-signature
(お客様契約実施中): ``open_esign`` mails a signing code valid until the deadline, 12:00 JST
of the business day before the loan date (``calendar.esign_deadline``). The applicant
opens each contract document (``consents.open_document``) and accepts it
(``accept_contract_document``), then enters the code (``sign``): the application waits
for the bank (ろうきん契約手続中). Staff sign (``bank_sign``): the contract is concluded
(契約済), its document is filed under the application and ローン契約完了のお知らせ is mailed.

After the deadline every applicant step raises ``DeadlinePassed`` and changes nothing. A
wrong code is counted (5 tries, as every code; ``reissue_esign_code`` mails a new one
with the same deadline) and a used code is refused as a ``Replay``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow import audit, codes, mail
from loanflow.access import locked_application, owned_application, record, staff_actor
from loanflow.application_mails import CONTRACT_DONE_MAIL, ESIGN_MAIL
from loanflow.application_tables import Application, ApplicationStatus, Consent, FileKind
from loanflow.calendar import esign_deadline
from loanflow.clock import Clock
from loanflow.consents import CONTRACT_DOCUMENTS, DOCUMENTS, record_consent
from loanflow.contract import ContractParty, ContractTerms, loan_schedule, render_contract
from loanflow.db import SessionFactory, transaction
from loanflow.documents import StoredFile, add_file
from loanflow.errors import DeadlinePassed, InvalidTransition
from loanflow.forms import DetailedInfo, from_json
from loanflow.products import product
from loanflow.states import Action, next_status
from loanflow.tables import Applicant

__all__ = [
    "ESIGN_CODE",
    "accept_contract_document",
    "bank_sign",
    "deadline_of",
    "missing_contract_documents",
    "open_esign",
    "reissue_esign_code",
    "sign",
]

ESIGN_CODE = "esign"  # auth_codes.purpose
_CONTRACT_SLUGS = tuple(d.slug for d in CONTRACT_DOCUMENTS)
_SIGNED = frozenset({ApplicationStatus.CUSTOMER_SIGNED, ApplicationStatus.CONTRACTED})


def _detailed(application: Application) -> DetailedInfo:
    if not application.detailed:  # pragma: no cover (a submitted application has it)
        raise InvalidTransition("the application has no detailed info")
    return from_json(DetailedInfo, application.detailed)


def deadline_of(application: Application) -> datetime:
    """12:00 JST of the business day before the application's loan date."""
    return esign_deadline(_detailed(application).desired_loan_date)


def _check_deadline(application: Application, now: datetime) -> datetime:
    deadline = deadline_of(application)
    if now > deadline:
        raise DeadlinePassed("the e-signature deadline has passed", deadline=deadline)
    return deadline


def _mail_code(
    session: Session, application: Application, now: datetime, deadline: datetime, actor: str
) -> None:
    issued = codes.issue_code(
        session,
        applicant_id=application.applicant_id,
        purpose=ESIGN_CODE,
        now=now,
        expires_at=deadline,
        application_id=application.id,
    )
    applicant = session.get_one(Applicant, application.applicant_id)
    mail.enqueue(
        session,
        ESIGN_MAIL,
        to_addr=applicant.email,
        now=now,
        applicant_id=applicant.id,
        secret=issued.code,
        family_name=applicant.family_name,
        given_name=applicant.given_name,
        application_id=application.id,
        deadline=mail.format_jst(deadline),
    )
    detail = {"deadline": deadline.isoformat()}
    record(session, application, at=now, actor=actor, action="esign.code_issued", detail=detail)


def open_esign(session: Session, application: Application, *, now: datetime, actor: str) -> None:
    """Mail the signing code of a just-approved application (in the approval's transaction).

    Raises:
        DeadlinePassed: The loan date is too near to sign in time.
    """
    _mail_code(session, application, now, _check_deadline(application, now), actor)


def _approved(
    session: Session, applicant_id: str, application_id: str, now: datetime
) -> Application:
    application = owned_application(session, applicant_id, application_id)
    if application.status is not ApplicationStatus.APPROVED:
        raise InvalidTransition("the e-signature is not open", status=application.status)
    _check_deadline(application, now)
    return application


def reissue_esign_code(
    db: SessionFactory, applicant_id: str, application_id: str, *, clock: Clock
) -> datetime:
    """Mail a new signing code (same deadline); earlier ones stop working. Returns the deadline.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: The e-signature is not open.
        DeadlinePassed: Too late.
    """
    now = clock.now()
    with transaction(db) as session:
        application = _approved(session, applicant_id, application_id, now)
        deadline = deadline_of(application)
        _mail_code(session, application, now, deadline, audit.applicant_actor(applicant_id))
        return deadline


def accept_contract_document(
    db: SessionFactory,
    applicant_id: str,
    application_id: str,
    document: str,
    open_id: str,
    *,
    clock: Clock,
) -> None:
    """Tick a contract document (``CONTRACT_DOCUMENTS``) after opening it.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: The e-signature is not open, not a contract document, or the
            document was not opened first (``open_id``).
        DeadlinePassed: Too late.
    """
    now = clock.now()
    with transaction(db) as session:
        application = _approved(session, applicant_id, application_id, now)
        if document not in _CONTRACT_SLUGS:
            raise InvalidTransition("not a contract document", document=document)
        record_consent(session, application, applicant_id, document, DOCUMENTS[document].version,
                     open_id, now)  # fmt: skip


def _contract_consents(session: Session, application: Application) -> dict[str, Consent]:
    rows = session.scalars(
        sa.select(Consent)
        .where(
            Consent.application_id == application.id,
            Consent.revision == application.revision,
            Consent.document.in_(_CONTRACT_SLUGS),
        )
        .order_by(Consent.id)
    )
    return {row.document: row for row in rows}


def missing_contract_documents(session: Session, application: Application) -> tuple[str, ...]:
    """The contract documents still to be accepted."""
    given = _contract_consents(session, application)
    return tuple(slug for slug in _CONTRACT_SLUGS if slug not in given)


def sign(
    db: SessionFactory, applicant_id: str, application_id: str, code: str, *, clock: Clock
) -> None:
    """The applicant's e-signature: every contract document accepted, then the mailed code.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
        InvalidTransition: The e-signature is not open, or a contract document is not
            accepted yet.
        DeadlinePassed: Past 12:00 JST of the business day before the loan date.
        Replay: Already signed with this code.
        ValidationFailed, CodeInvalid, TooManyAttempts: As ``codes.consume_code`` (a
            wrong code is counted).
    """
    now = clock.now()
    actor = audit.applicant_actor(applicant_id)
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        if application.status in _SIGNED:  # its code was used: Replay when this is it
            codes.consume_code(
                session,
                applicant_id=applicant_id,
                purpose=ESIGN_CODE,
                code=code,
                now=now,
                application_id=application.id,
            )
        target = next_status(application.status, Action.CUSTOMER_SIGN, application.kind)
        _check_deadline(application, now)
        missing = missing_contract_documents(session, application)
        if missing:
            raise InvalidTransition("accept every contract document first", missing=list(missing))
        refusal = codes.consume_code(
            session,
            applicant_id=applicant_id,
            purpose=ESIGN_CODE,
            code=code,
            now=now,
            application_id=application.id,
        )
        if refusal is None:
            application.status = target
            application.customer_signed_at = now
            application.updated_at = now
            record(session, application, at=now, actor=actor, action="esign.customer_signed")
        else:
            detail = {"error": refusal.code}
            record(
                session,
                application,
                at=now,
                actor=actor,
                action="esign.code_rejected",
                detail=detail,
            )
    if refusal is not None:
        raise refusal  # after the commit: the wrong try stays counted


def _terms(session: Session, application: Application, now: datetime) -> ContractTerms:
    applicant = session.get_one(Applicant, application.applicant_id)
    detailed = _detailed(application)
    loan_product = product(application.product)
    accepted = tuple(
        (DOCUMENTS[c.document].title, c.document_version, c.consented_at)
        for c in _contract_consents(session, application).values()
    )
    if application.customer_signed_at is None:  # pragma: no cover (CUSTOMER_SIGNED sets it)
        raise InvalidTransition("the applicant has not signed")
    return ContractTerms(
        application_id=application.id,
        borrower=ContractParty(
            name=f"{applicant.family_name} {applicant.given_name}", address=applicant.address or ""
        ),
        product=loan_product,
        detailed=detailed,
        schedule=loan_schedule(detailed, loan_product),
        accepted=accepted,
        customer_signed_at=application.customer_signed_at,
        bank_signed_at=now,
    )


def bank_sign(
    db: SessionFactory,
    application_id: str,
    staff_id: str,
    *,
    clock: Clock,
    font_path: Path | None = None,
) -> StoredFile:
    """The bank's signature: the contract is concluded (契約済) and filed; returns its file.

    Raises:
        NotFound: No such application.
        InvalidTransition: The applicant has not signed.
    """
    now = clock.now()
    actor = staff_actor(staff_id)
    with transaction(db) as session:
        application = locked_application(session, application_id)
        target = next_status(application.status, Action.BANK_SIGN, application.kind)
        prepared = render_contract(_terms(session, application, now), font_path=font_path)
        stored = add_file(
            session, application, prepared, kind=FileKind.CONTRACT, actor=actor, now=now
        )
        application.status = target
        application.contracted_at = now
        application.updated_at = now
        detail = {"file_id": stored.id, "sha256": stored.sha256}
        record(
            session, application, at=now, actor=actor, action="contract.concluded", detail=detail
        )
        applicant = session.get_one(Applicant, application.applicant_id)
        mail.enqueue(
            session,
            CONTRACT_DONE_MAIL,
            to_addr=applicant.email,
            now=now,
            applicant_id=applicant.id,
            family_name=applicant.family_name,
            given_name=applicant.given_name,
            application_id=application.id,
            loan_date=f"{_detailed(application).desired_loan_date:%Y年%m月%d日}",
        )
        return stored
