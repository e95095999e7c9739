"""Consents of an application (step 5): each document is opened before it can be accepted.

``open_document`` records (server side) that the applicant was shown a document and
returns the open's id; ``give_consent`` names that id, which it consumes. Consents are
given on the confirmation screen and count for the application's current ``revision``:
an edit after confirmation bumps the revision, so every consent must be given again.
The same open-then-accept rule covers the contract documents of the e-signature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow import audit
from loanflow.access import owned_application, record
from loanflow.application_tables import Application, ApplicationStatus, Consent
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import InvalidTransition, NotFound
from loanflow.forms import ApplicationKind
from loanflow.mypage import TermsOpened
from loanflow.tables import TermsOpenEvent

__all__ = [
    "APPLICATION_CONSENTS",
    "CONTRACT_DOCUMENTS",
    "DOCUMENTS",
    "ConsentDocument",
    "consume_open",
    "give_consent",
    "missing_consents",
    "open_document",
]


@dataclass(frozen=True, slots=True)
class ConsentDocument:
    """A document the applicant must open, then accept."""

    slug: str
    title: str
    version: str


PERSONAL_INFO = ConsentDocument("personal_info", "個人情報の取扱いに関する同意書", "2025-04")
CREDIT_BUREAU = ConsentDocument(
    "credit_bureau", "個人信用情報機関の利用・登録に関する同意", "2025-04"
)
GUARANTEE = ConsentDocument("guarantee", "保証委託約款", "2025-04")
E_DELIVERY = ConsentDocument("electronic_delivery", "電子交付に関する同意", "2025-04")
LOAN_TERMS = ConsentDocument("loan_terms", "ローン契約規定", "2025-04")
LOAN_CONTRACT = ConsentDocument("loan_contract", "金銭消費貸借契約書", "2025-04")

APPLICATION_CONSENTS: dict[ApplicationKind, tuple[ConsentDocument, ...]] = {
    ApplicationKind.PROVISIONAL: (PERSONAL_INFO, CREDIT_BUREAU),
    ApplicationKind.FULL: (PERSONAL_INFO, CREDIT_BUREAU, GUARANTEE, E_DELIVERY),
}
CONTRACT_DOCUMENTS = (LOAN_TERMS, LOAN_CONTRACT)  # opened and ticked at the e-signature
DOCUMENTS = {d.slug: d for d in (*APPLICATION_CONSENTS[ApplicationKind.FULL], *CONTRACT_DOCUMENTS)}


def open_document(
    db: SessionFactory, applicant_id: str, application_id: str, document: str, *, clock: Clock
) -> TermsOpened:
    """Record that the applicant opened ``document`` (a slug of ``DOCUMENTS``).

    Raises:
        NotFound: No such document or application.
        Forbidden: Another applicant's application.
    """
    if document not in DOCUMENTS:
        raise NotFound("no such document", document=document)
    now = clock.now()
    event_id = secrets.token_urlsafe(24)
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        session.add(
            TermsOpenEvent(id=event_id, document=document, applicant_id=applicant_id, opened_at=now)
        )
        record(
            session,
            application,
            at=now,
            actor=audit.applicant_actor(applicant_id),
            action="document.opened",
            detail={"document": document, "open_id": event_id},
        )
    return TermsOpened(id=event_id, document=document, opened_at=now)


def consume_open(
    session: Session, *, applicant_id: str, document: str, open_id: str, now: datetime
) -> TermsOpenEvent:
    """Consume the applicant's unused open of ``document``; ``InvalidTransition`` otherwise."""
    opened = session.get(TermsOpenEvent, open_id, with_for_update=True)
    if (
        opened is None
        or opened.applicant_id != applicant_id
        or opened.document != document
        or opened.consumed_at is not None
    ):
        raise InvalidTransition(
            "the document must be opened before it is accepted", document=document
        )
    opened.consumed_at = now
    return opened


def give_consent(
    db: SessionFactory,
    applicant_id: str,
    application_id: str,
    document: str,
    open_id: str,
    *,
    clock: Clock,
) -> None:
    """Accept ``document`` for the application's current revision.

    Raises:
        NotFound, Forbidden: As ``open_document``.
        InvalidTransition: Not on the confirmation screen (``CONFIRMED``), not a consent
            this application asks for, or the document was not opened first.
    """
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        if application.status is not ApplicationStatus.CONFIRMED:
            raise InvalidTransition(
                "consents are given on the confirmation screen", status=application.status
            )
        wanted = {d.slug: d for d in APPLICATION_CONSENTS[application.kind]}
        if document not in wanted:
            raise InvalidTransition("this application does not ask for it", document=document)
        record_consent(session, application, applicant_id, document, wanted[document].version,
                     open_id, now)  # fmt: skip


def missing_consents(session: Session, application: Application) -> tuple[str, ...]:
    """The slugs still to be accepted for the application's current revision."""
    given = set(
        session.scalars(
            sa.select(Consent.document).where(
                Consent.application_id == application.id,
                Consent.revision == application.revision,
            )
        )
    )
    return tuple(d.slug for d in APPLICATION_CONSENTS[application.kind] if d.slug not in given)


def record_consent(session: Session, application: Application, applicant_id: str, document: str,
                 version: str, open_id: str, now: datetime) -> None:  # fmt: skip
    """Record one consent: the document's open event is used up, and the act is audited.

    Shared by the application consents and the contract documents of the e-signature.
    """
    opened = consume_open(
        session, applicant_id=applicant_id, document=document, open_id=open_id, now=now
    )
    session.add(
        Consent(
            application_id=application.id,
            document=document,
            document_version=version,
            revision=application.revision,
            open_event_id=opened.id,
            consented_at=now,
        )
    )
    record(
        session,
        application,
        at=now,
        actor=audit.applicant_actor(applicant_id),
        action="consent.given",
        detail={"document": document, "revision": application.revision},
    )
