"""The HTTP shapes of the application workflow (``loanflow``'s dataclasses as ``...In``/``...Out``).

The two forms (``BasicInfo``, ``DetailedInfo``) are loanflow's frozen dataclasses, which
pydantic validates as they are: types and enums here, the rules in ``loanflow.rules``
(their ``validation_failed`` problems name every broken field). Outputs never carry
codes, tokens or blob contents.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from loanflow.application_tables import (
    ApplicationStatus,
    EkycStatus,
    FileKind,
    MessageSender,
)
from loanflow.applications import Submitted
from loanflow.documents import StoredFile
from loanflow.forms import ApplicationKind, BasicInfo, DetailedInfo
from loanflow.messages import MessageView
from loanflow.mypage import TermsOpened
from loanflow.mypage_views import ApplicationDetail, ApplicationSummary
from loanflow.products import ProductCode
from loanflow.review import ReviewResult
from loanflow.schedule import Instalment, RepaymentSchedule

__all__ = [
    "AcceptIn",
    "ApplicationCreatedOut",
    "ApplicationDetailOut",
    "ApplicationIn",
    "ApplicationSummaryOut",
    "DeadlineOut",
    "DocumentOpenedOut",
    "EkycUrlOut",
    "FileOut",
    "MessageIn",
    "MessageOut",
    "ReviewResultIn",
    "RevisionOut",
    "SignIn",
    "SubmittedOut",
    "WithdrawIn",
]

_ID = 64  # uuids and open ids are shorter; loanflow answers 404 for anything else


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


class ApplicationIn(_In):
    """A new draft: a provisional pre-screening or a full application."""

    kind: ApplicationKind
    product: ProductCode


class AcceptIn(_In):
    """Accept a document opened before (``open_id`` from its ``opened`` receipt)."""

    document: str = Field(max_length=_ID)
    open_id: str = Field(max_length=_ID)


class WithdrawIn(_In):
    """Why the applicant withdraws (required, at most 200 characters: loanflow checks)."""

    reason: str = Field(max_length=1000)


class MessageIn(_In):
    """A message to the bank, or from it (at most 2000 characters: loanflow checks)."""

    body: str = Field(max_length=4000)


class SignIn(_In):
    """The signing code from the mail (its format is checked by loanflow)."""

    code: str = Field(max_length=32)


class ReviewResultIn(_In):
    """The bank's decision, with an optional note shown to the applicant."""

    result: ReviewResult
    bank_note: str | None = Field(default=None, max_length=2000)


class ApplicationCreatedOut(BaseModel):
    application_id: str


class RevisionOut(BaseModel):
    """The application's revision after the step (consents count for one revision)."""

    revision: int


class DocumentOpenedOut(BaseModel):
    """The receipt that accepting the document names as ``open_id``."""

    open_id: str
    document: str
    opened_at: datetime

    @classmethod
    def of(cls, opened: TermsOpened) -> DocumentOpenedOut:
        return cls(open_id=opened.id, document=opened.document, opened_at=opened.opened_at)


class FileOut(BaseModel):
    """A file under an application (its bytes are not part of it)."""

    id: str
    sha256: str
    filename: str
    media_type: str
    kind: FileKind
    original_format: str
    added_at: datetime

    @classmethod
    def of(cls, stored: StoredFile) -> FileOut:
        return cls(
            id=stored.id,
            sha256=stored.sha256,
            filename=stored.filename,
            media_type=stored.media_type,
            kind=stored.kind,
            original_format=stored.original_format,
            added_at=stored.added_at,
        )


class SubmittedOut(BaseModel):
    """Submitted; a full application's eKYC URL was mailed and works until ``ekyc_expires_at``."""

    application_id: str
    submitted_at: datetime
    ekyc_expires_at: datetime | None

    @classmethod
    def of(cls, done: Submitted) -> SubmittedOut:
        expires = done.ekyc.expires_at if done.ekyc is not None else None
        return cls(
            application_id=done.application_id,
            submitted_at=done.submitted_at,
            ekyc_expires_at=expires,
        )


class EkycUrlOut(BaseModel):
    """A new eKYC URL was mailed; earlier ones stopped working."""

    expires_at: datetime


class DeadlineOut(BaseModel):
    """A new signing code was mailed; signing closes at ``deadline``."""

    deadline: datetime


class MessageOut(BaseModel):
    id: int
    sender: MessageSender
    body: str
    sent_at: datetime

    @classmethod
    def of(cls, view: MessageView) -> MessageOut:
        return cls(id=view.id, sender=view.sender, body=view.body, sent_at=view.sent_at)


class LabelsOut(BaseModel):
    """申込状況, 審査状況, 契約状況 as the list shows them."""

    application: str
    review: str
    contract: str


class ApplicationSummaryOut(BaseModel):
    id: str
    kind: ApplicationKind
    kind_name: str
    product_name: str
    status: ApplicationStatus
    labels: LabelsOut
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, summary: ApplicationSummary) -> ApplicationSummaryOut:
        labels = summary.labels
        return cls(
            id=summary.id,
            kind=summary.kind,
            kind_name=summary.kind_name,
            product_name=summary.product_name,
            status=summary.status,
            labels=LabelsOut(
                application=labels.application, review=labels.review, contract=labels.contract
            ),
            created_at=summary.created_at,
            submitted_at=summary.submitted_at,
            updated_at=summary.updated_at,
        )


class InstalmentOut(BaseModel):
    kind: Literal["monthly", "bonus"]
    number: int
    due: date
    payment_yen: int
    principal_yen: int
    interest_yen: int
    balance_yen: int

    @classmethod
    def of(cls, item: Instalment) -> InstalmentOut:
        return cls(
            kind=item.kind.value,
            number=item.number,
            due=item.due,
            payment_yen=item.payment_yen,
            principal_yen=item.principal_yen,
            interest_yen=item.interest_yen,
            balance_yen=item.balance_yen,
        )


class ScheduleOut(BaseModel):
    """The repayment table; the rate is a decimal string (``"1.875"``), never a float."""

    principal_yen: int
    monthly_principal_yen: int
    bonus_principal_yen: int
    annual_rate_percent: str
    total_interest_yen: int
    total_paid_yen: int
    instalments: list[InstalmentOut]

    @classmethod
    def of(cls, schedule: RepaymentSchedule) -> ScheduleOut:
        return cls(
            principal_yen=schedule.principal_yen,
            monthly_principal_yen=schedule.monthly_principal_yen,
            bonus_principal_yen=schedule.bonus_principal_yen,
            annual_rate_percent=str(schedule.annual_rate_percent),
            total_interest_yen=schedule.total_interest_yen,
            total_paid_yen=schedule.total_paid_yen,
            instalments=[InstalmentOut.of(i) for i in schedule.instalments],
        )


class ConsentOut(BaseModel):
    document: str
    title: str
    version: str
    revision: int
    consented_at: datetime


class ApplicationDetailOut(BaseModel):
    """One application in full, as the detail page shows it."""

    summary: ApplicationSummaryOut
    ekyc_status: EkycStatus
    bank_note: str | None
    withdraw_reason: str | None
    basic: BasicInfo | None
    detailed: DetailedInfo | None
    files: list[FileOut]
    consents: list[ConsentOut]
    schedule: ScheduleOut | None
    esign_deadline: datetime | None
    contracted_at: datetime | None

    @classmethod
    def of(cls, detail: ApplicationDetail) -> ApplicationDetailOut:
        return cls(
            summary=ApplicationSummaryOut.of(detail.summary),
            ekyc_status=detail.ekyc_status,
            bank_note=detail.bank_note,
            withdraw_reason=detail.withdraw_reason,
            basic=detail.basic,
            detailed=detail.detailed,
            files=[FileOut.of(f) for f in detail.files],
            consents=[
                ConsentOut(
                    document=c.document,
                    title=c.title,
                    version=c.version,
                    revision=c.revision,
                    consented_at=c.consented_at,
                )
                for c in detail.consents
            ],
            schedule=ScheduleOut.of(detail.schedule) if detail.schedule is not None else None,
            esign_deadline=detail.esign_deadline,
            contracted_at=detail.contracted_at,
        )
