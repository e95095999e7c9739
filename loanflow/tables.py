"""The database tables, as typed SQLAlchemy 2 declarative models.

The schema is created by the Alembic migrations in ``loanflow/migrations`` (never by
``create_all``); ``tests/loanflow/test_migrations.py`` checks that both agree.

Conventions: primary keys that reach a browser are random (``uuid4`` text), never
sequential; instants are stored in UTC and come back timezone-aware; one-time codes are
stored as salted SHA-256 and passwords as argon2id, never in clear. ``audit_log`` is
append-only: the ORM refuses to update or delete its rows and database triggers refuse
UPDATE and DELETE statements.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

__all__ = [
    "AppendOnlyViolation",
    "Applicant",
    "ApplicantStatus",
    "AuditEntry",
    "AuthCode",
    "Base",
    "Credential",
    "MailStatus",
    "OutboxMail",
    "TermsOpenEvent",
    "WebSession",
]


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every database (SQLite has no time zones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware instants (Clock.now())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (migrations refer to them)."""

    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
    }


def _str_enum(cls: type[enum.StrEnum]) -> sa.Enum:
    return sa.Enum(
        cls,
        native_enum=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class ApplicantStatus(enum.StrEnum):
    """Where a My Page registration stands: code -> password -> active."""

    CODE_PENDING = "code_pending"
    PASSWORD_PENDING = "password_pending"  # noqa: S105 (a state, not a password)
    ACTIVE = "active"


class Applicant(Base):
    """A My Page: the applicant's registration data (pre-fills later forms)."""

    __tablename__ = "applicants"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    status: Mapped[ApplicantStatus] = mapped_column(_str_enum(ApplicantStatus))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)  # stored lower-case
    family_name: Mapped[str] = mapped_column(sa.String(30))
    given_name: Mapped[str] = mapped_column(sa.String(30))
    family_name_kana: Mapped[str | None] = mapped_column(sa.String(30))
    given_name_kana: Mapped[str | None] = mapped_column(sa.String(30))
    birth_date: Mapped[date | None]
    postal_code: Mapped[str | None] = mapped_column(sa.String(8))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    home_phone: Mapped[str] = mapped_column(sa.String(13))
    mobile_phone: Mapped[str | None] = mapped_column(sa.String(13))
    terms_consented_at: Mapped[datetime]
    created_at: Mapped[datetime]


class TermsOpenEvent(Base):
    """The server's record that a consent document was opened (before its box is ticked).

    ``id`` is handed to the page that showed the document; the consent that follows
    names it, and consumes it.
    """

    __tablename__ = "terms_open_events"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    document: Mapped[str] = mapped_column(sa.String(40))  # e.g. "mypage_terms"
    applicant_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("applicants.id"), index=True
    )  # set when a registration or a logged-in applicant consumes it
    opened_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class AuthCode(Base):
    """A one-time numeric code sent by mail, stored as salted SHA-256."""

    __tablename__ = "auth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[str] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    application_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("applications.id")
    )  # set for codes of one application (the e-signature); migration 0003
    purpose: Mapped[str] = mapped_column(sa.String(20))  # "registration", "esign"
    salt: Mapped[str] = mapped_column(sa.String(32))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)  # wrong tries so far
    consumed_at: Mapped[datetime | None]
    invalidated_at: Mapped[datetime | None]  # superseded by a reissue


class Credential(Base):
    """The system-issued login ID and the argon2id password hash of an applicant."""

    __tablename__ = "credentials"

    applicant_id: Mapped[str] = mapped_column(sa.ForeignKey("applicants.id"), primary_key=True)
    login_id: Mapped[str] = mapped_column(sa.String(10), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    failed_logins: Mapped[int] = mapped_column(default=0)  # consecutive
    locked_until: Mapped[datetime | None]
    issued_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class AuditEntry(Base):
    """One row per state transition, written in the transition's own transaction."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(sa.String(80))  # "applicant:<id>", "system"
    action: Mapped[str] = mapped_column(sa.String(60))  # e.g. "mypage.registered"
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]]  # never codes, passwords or tokens


class MailStatus(enum.StrEnum):
    """Outbox state; a failed try stays ``pending`` with ``attempts`` counted."""

    PENDING = "pending"
    SENT = "sent"


class OutboxMail(Base):
    """A mail written with the state change that caused it, sent later by ``deliver_outbox``.

    A one-time code travels in ``secret`` (the body holds a placeholder) and is erased
    once the mail has left, so the database keeps no usable code.
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[str | None] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    template: Mapped[str] = mapped_column(sa.String(40))
    to_addr: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text())
    secret: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[MailStatus] = mapped_column(_str_enum(MailStatus), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit row: a bug, never a user error."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_audit_change(_mapper: Mapper[Any], _connection: Connection, target: Any) -> None:
    raise AppendOnlyViolation(f"audit_log is append-only (row {target.id})")


class WebSession(Base):
    """A browser's logged-in (or registering) session; the id itself is never stored.

    Kept in the database, not in the daemon's memory, so a restart or a second replica
    does not log anyone out or strand a registration between its code and its password.
    """

    __tablename__ = "web_sessions"

    token_sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    applicant_id: Mapped[str] = mapped_column(sa.ForeignKey("applicants.id"), index=True)
    scope: Mapped[str] = mapped_column(sa.String(20))  # what the session may do (service)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)
