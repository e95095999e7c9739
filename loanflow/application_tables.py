"""Tables of applications, their files, consents, messages and eKYC sessions (migration 0002).

Same conventions as ``loanflow.tables``. Append-only (ORM listeners here, database
triggers in the migration): ``blobs`` (the bytes of every file, keyed by sha256),
``application_files`` (no file is ever lost), ``consents`` (what was agreed, when) and
``ekyc_verifications`` (the 7-year identity verification record).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from loanflow.forms import ApplicationKind
from loanflow.products import ProductCode
from loanflow.tables import AppendOnlyViolation, Base, _str_enum

__all__ = [
    "Application",
    "ApplicationFile",
    "ApplicationStatus",
    "Blob",
    "Consent",
    "EkycRefusal",
    "EkycSession",
    "EkycShot",
    "EkycStatus",
    "EkycVerification",
    "FileKind",
    "Message",
    "MessageSender",
]


class ApplicationStatus(enum.StrEnum):
    """The application's one authoritative state; ``loanflow.states`` lists the moves."""

    DRAFT = "draft"  # 入力中
    CONFIRMED = "confirmed"  # the confirmation screen was shown: consents may be given
    SUBMITTED = "submitted"  # 申込受付
    UNDER_REVIEW = "under_review"  # 審査中
    PRESCREEN_APPROVED = "prescreen_approved"  # 仮審査承認: the full application follows
    APPROVED = "approved"  # 承認: お客様契約実施中 (e-signature open)
    CUSTOMER_SIGNED = "customer_signed"  # waiting for the bank's signature
    CONTRACTED = "contracted"  # 契約済
    DECLINED = "declined"  # 否決
    WITHDRAWN = "withdrawn"  # 取下げ


class EkycStatus(enum.StrEnum):
    """Where the identity check of an application stands."""

    NOT_REQUIRED = "not_required"  # provisional applications
    PENDING = "pending"  # URL sent (or not yet: the application is not submitted)
    ACCEPTED = "accepted"
    REVIEW = "review"  # the verifier asks a person to look
    REJECTED = "rejected"  # the applicant may try again with a reissued URL


class Application(Base):
    """A loan application; the forms are JSON of ``loanflow.forms`` dataclasses."""

    __tablename__ = "applications"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    kind: Mapped[ApplicationKind] = mapped_column(_str_enum(ApplicationKind))
    product: Mapped[ProductCode] = mapped_column(_str_enum(ProductCode))
    status: Mapped[ApplicationStatus] = mapped_column(_str_enum(ApplicationStatus), index=True)
    revision: Mapped[int]  # +1 at each edit; consents name the revision they agreed to
    basic: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    detailed: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    prescreen_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("applications.id"), unique=True
    )  # the approved provisional application a full one follows (at most one)
    copied_from_id: Mapped[str | None] = mapped_column(sa.String(36))
    ekyc_status: Mapped[EkycStatus] = mapped_column(_str_enum(EkycStatus))
    bank_note: Mapped[str | None] = mapped_column(sa.Text())
    withdraw_reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    customer_signed_at: Mapped[datetime | None]  # the applicant's e-signature (0003)
    contracted_at: Mapped[datetime | None]


class Blob(Base):
    """File bytes, content-addressed: stored once, never changed or deleted."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size_bytes: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary())
    created_at: Mapped[datetime]


class FileKind(enum.StrEnum):
    """Who put a file on the application."""

    UPLOAD = "upload"  # the applicant's documents
    CONTRACT = "contract"  # the signed contract, added by the bank


class ApplicationFile(Base):
    """A file shown under the application; its bytes are the blob ``sha256``."""

    __tablename__ = "application_files"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    sha256: Mapped[str] = mapped_column(sa.ForeignKey("blobs.sha256"))
    kind: Mapped[FileKind] = mapped_column(_str_enum(FileKind))
    filename: Mapped[str] = mapped_column(sa.String(120))
    media_type: Mapped[str] = mapped_column(sa.String(40))
    original_sha256: Mapped[str] = mapped_column(sa.String(64))  # before HEIF conversion
    original_format: Mapped[str] = mapped_column(sa.String(10))
    added_at: Mapped[datetime]
    added_by: Mapped[str] = mapped_column(sa.String(80))


class Consent(Base):
    """One consent given: which document, after which open, to which revision."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    document: Mapped[str] = mapped_column(sa.String(40))
    document_version: Mapped[str] = mapped_column(sa.String(20))
    revision: Mapped[int]
    open_event_id: Mapped[str] = mapped_column(sa.ForeignKey("terms_open_events.id"))
    consented_at: Mapped[datetime]


class MessageSender(enum.StrEnum):
    """Who wrote a message."""

    APPLICANT = "applicant"
    BANK = "bank"


class Message(Base):
    """A message between the applicant and the bank about one application."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    sender: Mapped[MessageSender] = mapped_column(_str_enum(MessageSender))
    author: Mapped[str] = mapped_column(sa.String(80))
    body: Mapped[str] = mapped_column(sa.Text())
    sent_at: Mapped[datetime]


class EkycSession(Base):
    """An identity-check session opened by the mailed URL's token (stored as sha256)."""

    __tablename__ = "ekyc_sessions"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    invalidated_at: Mapped[datetime | None]  # superseded by a reissued URL
    document_type: Mapped[str | None] = mapped_column(sa.String(30))
    completed_at: Mapped[datetime | None]


class EkycShot(Base):
    """One image step of a session; a retake adds a row, the latest one counts."""

    __tablename__ = "ekyc_shots"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("ekyc_sessions.id"), index=True)
    shot: Mapped[str] = mapped_column(sa.String(10))  # ekyc.Shot value
    sha256: Mapped[str] = mapped_column(sa.ForeignKey("blobs.sha256"))
    taken_at: Mapped[datetime]


class EkycRefusal(Base):
    """A shot refused on arrival for a retake (why, when); its bytes were never stored.

    Counts the judged retakes a step has had (``loanflow.ekyc_session.JUDGED_RETAKES``) and
    tells the reviewer how the applicant got there (migration 0005).
    """

    __tablename__ = "ekyc_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("ekyc_sessions.id"), index=True)
    shot: Mapped[str] = mapped_column(sa.String(10))  # ekyc.Shot value
    reason: Mapped[str] = mapped_column(sa.String(40))  # lower-case ekyc reason code
    refused_at: Mapped[datetime]


class EkycVerification(Base):
    """The identity verification record kept 7 years (犯罪収益移転防止法); append-only."""

    __tablename__ = "ekyc_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[str] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    session_id: Mapped[str] = mapped_column(sa.ForeignKey("ekyc_sessions.id"), unique=True)
    method: Mapped[str] = mapped_column(sa.String(40))  # e.g. "image_and_selfie" (ホ)
    document_type: Mapped[str] = mapped_column(sa.String(30))
    decision: Mapped[str] = mapped_column(sa.String(10))
    reasons: Mapped[dict[str, Any]] = mapped_column(sa.JSON())  # {"codes": [...]}
    models: Mapped[dict[str, Any]] = mapped_column(sa.JSON())  # {"id": "sha256"}
    image_sha256: Mapped[dict[str, Any]] = mapped_column(sa.JSON())  # {"front": "..."}
    verifier: Mapped[str] = mapped_column(sa.String(60))
    verified_at: Mapped[datetime]
    retain_until: Mapped[datetime]


_APPEND_ONLY = (Blob, ApplicationFile, Consent, EkycVerification)


def _refuse_change(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    raise AppendOnlyViolation(f"{type(target).__tablename__} is append-only")


for _model in _APPEND_ONLY:
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
