"""Applications: forms, files (content-addressed blobs), consents, messages, eKYC sessions.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Files are never lost and records never rewritten: the database refuses UPDATE and
# DELETE on these tables (0001 created the PostgreSQL function loanflow_refuse_change).
_APPEND_ONLY = ("blobs", "application_files", "consents", "ekyc_verifications")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _id(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(36), nullable=False)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [target], name=f"fk_{table}_{column}_{target.split('.')[0]}"
    )


def upgrade() -> None:
    op.create_table(
        "applications",
        _id(),
        sa.Column("applicant_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("product", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("basic", sa.JSON(), nullable=True),
        sa.Column("detailed", sa.JSON(), nullable=True),
        sa.Column("prescreen_id", sa.String(36), nullable=True),
        sa.Column("copied_from_id", sa.String(36), nullable=True),
        sa.Column("ekyc_status", sa.String(20), nullable=False),
        sa.Column("bank_note", sa.Text(), nullable=True),
        sa.Column("withdraw_reason", sa.String(200), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("confirmed_at", _when(), nullable=True),
        sa.Column("submitted_at", _when(), nullable=True),
        sa.Column("decided_at", _when(), nullable=True),
        sa.Column("contracted_at", _when(), nullable=True),
        _fk("applications", "applicant_id", "applicants.id"),
        _fk("applications", "prescreen_id", "applications.id"),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("prescreen_id", name="uq_applications_prescreen_id"),
    )
    op.create_index("ix_applications_applicant_id", "applications", ["applicant_id"])
    op.create_index("ix_applications_status", "applications", ["status"])
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_blobs"),
    )
    op.create_table(
        "application_files",
        _id(),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("original_sha256", sa.String(64), nullable=False),
        sa.Column("original_format", sa.String(10), nullable=False),
        sa.Column("added_at", _when(), nullable=False),
        sa.Column("added_by", sa.String(80), nullable=False),
        _fk("application_files", "application_id", "applications.id"),
        _fk("application_files", "sha256", "blobs.sha256"),
        sa.PrimaryKeyConstraint("id", name="pk_application_files"),
    )
    op.create_index("ix_application_files_application_id", "application_files", ["application_id"])
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("document", sa.String(40), nullable=False),
        sa.Column("document_version", sa.String(20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("open_event_id", sa.String(64), nullable=False),
        sa.Column("consented_at", _when(), nullable=False),
        _fk("consents", "application_id", "applications.id"),
        _fk("consents", "open_event_id", "terms_open_events.id"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_application_id", "consents", ["application_id"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("sender", sa.String(20), nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", _when(), nullable=False),
        _fk("messages", "application_id", "applications.id"),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_application_id", "messages", ["application_id"])
    _ekyc_tables()
    _append_only()


def _ekyc_tables() -> None:
    op.create_table(
        "ekyc_sessions",
        _id(),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("issued_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("invalidated_at", _when(), nullable=True),
        sa.Column("document_type", sa.String(30), nullable=True),
        sa.Column("completed_at", _when(), nullable=True),
        _fk("ekyc_sessions", "application_id", "applications.id"),
        sa.PrimaryKeyConstraint("id", name="pk_ekyc_sessions"),
        sa.UniqueConstraint("token_sha256", name="uq_ekyc_sessions_token_sha256"),
    )
    op.create_index("ix_ekyc_sessions_application_id", "ekyc_sessions", ["application_id"])
    op.create_table(
        "ekyc_shots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("shot", sa.String(10), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("taken_at", _when(), nullable=False),
        _fk("ekyc_shots", "session_id", "ekyc_sessions.id"),
        _fk("ekyc_shots", "sha256", "blobs.sha256"),
        sa.PrimaryKeyConstraint("id", name="pk_ekyc_shots"),
    )
    op.create_index("ix_ekyc_shots_session_id", "ekyc_shots", ["session_id"])
    op.create_table(
        "ekyc_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(36), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("document_type", sa.String(30), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("image_sha256", sa.JSON(), nullable=False),
        sa.Column("verifier", sa.String(60), nullable=False),
        sa.Column("verified_at", _when(), nullable=False),
        sa.Column("retain_until", _when(), nullable=False),
        _fk("ekyc_verifications", "application_id", "applications.id"),
        _fk("ekyc_verifications", "session_id", "ekyc_sessions.id"),
        sa.PrimaryKeyConstraint("id", name="pk_ekyc_verifications"),
        sa.UniqueConstraint("session_id", name="uq_ekyc_verifications_session_id"),
    )
    op.create_index(
        "ix_ekyc_verifications_application_id", "ekyc_verifications", ["application_id"]
    )


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION loanflow_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION loanflow_refuse_change()"
            )
        elif dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    for table in (
        "ekyc_verifications",
        "ekyc_shots",
        "ekyc_sessions",
        "messages",
        "consents",
        "application_files",
        "blobs",
        "applications",
    ):
        op.drop_table(table)  # with its indexes and triggers
