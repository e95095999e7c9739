"""What My Page shows (step 7): the application list and one application in detail.

Reads only: each view loads the applicant's own application (``Forbidden`` for another
applicant's) and returns frozen values, never ORM rows. The detail gathers the status
labels (申込状況, 審査状況, 契約状況), the bank's note, both forms, the files (documents
and the contract), the consents given and the repayment schedule of the loan asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from loanflow.access import owned_application
from loanflow.application_tables import Application, ApplicationStatus, Consent, EkycStatus
from loanflow.applications import KIND_NAMES, forms_of
from loanflow.calendar import esign_deadline
from loanflow.consents import DOCUMENTS
from loanflow.contract import loan_schedule
from loanflow.db import SessionFactory, transaction
from loanflow.documents import StoredFile, list_files
from loanflow.forms import ApplicationKind, BasicInfo, DetailedInfo
from loanflow.products import product
from loanflow.schedule import RepaymentSchedule
from loanflow.states import StatusLabels, labels

__all__ = [
    "ApplicationDetail",
    "ApplicationSummary",
    "ConsentGiven",
    "application_detail",
    "list_applications",
]


@dataclass(frozen=True, slots=True)
class ApplicationSummary:
    """One row of the application list."""

    id: str
    kind: ApplicationKind
    kind_name: str  # 仮審査申込 / 本申込
    product_name: str
    status: ApplicationStatus
    labels: StatusLabels
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """A document the applicant accepted, with the revision it counted for."""

    document: str
    title: str
    version: str
    revision: int
    consented_at: datetime


@dataclass(frozen=True, slots=True)
class ApplicationDetail:
    """Everything the detail page shows; ``esign_deadline`` only while signing is open."""

    summary: ApplicationSummary
    ekyc_status: EkycStatus
    bank_note: str | None
    withdraw_reason: str | None
    basic: BasicInfo | None
    detailed: DetailedInfo | None
    files: tuple[StoredFile, ...]
    consents: tuple[ConsentGiven, ...]
    schedule: RepaymentSchedule | None
    esign_deadline: datetime | None
    contracted_at: datetime | None


def _summary(application: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=application.id,
        kind=application.kind,
        kind_name=KIND_NAMES[application.kind],
        product_name=product(application.product).name,
        status=application.status,
        labels=labels(application.status),
        created_at=application.created_at,
        submitted_at=application.submitted_at,
        updated_at=application.updated_at,
    )


def list_applications(db: SessionFactory, applicant_id: str) -> tuple[ApplicationSummary, ...]:
    """The applicant's applications, newest first (none for an unknown applicant)."""
    with transaction(db) as session:
        rows = session.scalars(
            sa.select(Application)
            .where(Application.applicant_id == applicant_id)
            .order_by(Application.created_at.desc(), Application.id)
        )
        return tuple(_summary(row) for row in rows)


def _schedule(application: Application, detailed: DetailedInfo | None) -> RepaymentSchedule | None:
    if detailed is None:
        return None
    try:
        return loan_schedule(detailed, product(application.product))
    except ValueError:  # a draft's terms may not make a schedule yet
        return None


def application_detail(
    db: SessionFactory, applicant_id: str, application_id: str
) -> ApplicationDetail:
    """One of the applicant's applications in full.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
    """
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        basic, detailed = forms_of(application)
        given = session.scalars(
            sa.select(Consent).where(Consent.application_id == application.id).order_by(Consent.id)
        )
        consents = tuple(
            ConsentGiven(
                document=c.document,
                title=DOCUMENTS[c.document].title,
                version=c.document_version,
                revision=c.revision,
                consented_at=c.consented_at,
            )
            for c in given
        )
        deadline = None
        if application.status is ApplicationStatus.APPROVED and detailed is not None:
            deadline = esign_deadline(detailed.desired_loan_date)
        return ApplicationDetail(
            summary=_summary(application),
            ekyc_status=application.ekyc_status,
            bank_note=application.bank_note,
            withdraw_reason=application.withdraw_reason,
            basic=basic,
            detailed=detailed,
            files=list_files(session, application.id),
            consents=consents,
            schedule=_schedule(application, detailed),
            esign_deadline=deadline,
            contracted_at=application.contracted_at,
        )
