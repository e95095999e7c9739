"""My Page: applicants, terms-open events, one-time codes, credentials, audit log, mail outbox.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Append-only tables refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) in the database
# itself, so no code path, ORM or raw SQL, can rewrite history.
_PG_FUNCTION = """
CREATE FUNCTION loanflow_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION loanflow_refuse_change()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION loanflow_refuse_change()",
)
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    for verb in ("UPDATE", "DELETE")
)


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "applicants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("family_name", sa.String(30), nullable=False),
        sa.Column("given_name", sa.String(30), nullable=False),
        sa.Column("family_name_kana", sa.String(30), nullable=True),
        sa.Column("given_name_kana", sa.String(30), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("postal_code", sa.String(8), nullable=True),
        sa.Column("address", sa.String(200), nullable=True),
        sa.Column("home_phone", sa.String(13), nullable=False),
        sa.Column("mobile_phone", sa.String(13), nullable=True),
        sa.Column("terms_consented_at", _when(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applicants"),
        sa.UniqueConstraint("email", name="uq_applicants_email"),
    )
    op.create_table(
        "terms_open_events",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("document", sa.String(40), nullable=False),
        sa.Column("applicant_id", sa.String(36), nullable=True),
        sa.Column("opened_at", _when(), nullable=False),
        sa.Column("consumed_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicants.id"],
            name="fk_terms_open_events_applicant_id_applicants",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_terms_open_events"),
    )
    op.create_index("ix_terms_open_events_applicant_id", "terms_open_events", ["applicant_id"])
    op.create_table(
        "auth_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("applicant_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("salt", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("consumed_at", _when(), nullable=True),
        sa.Column("invalidated_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["applicants.id"], name="fk_auth_codes_applicant_id_applicants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_auth_codes"),
    )
    op.create_index("ix_auth_codes_applicant_id", "auth_codes", ["applicant_id"])
    op.create_table(
        "credentials",
        sa.Column("applicant_id", sa.String(36), nullable=False),
        sa.Column("login_id", sa.String(10), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", _when(), nullable=True),
        sa.Column("issued_at", _when(), nullable=False),
        sa.Column("password_changed_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["applicants.id"], name="fk_credentials_applicant_id_applicants"
        ),
        sa.PrimaryKeyConstraint("applicant_id", name="pk_credentials"),
        sa.UniqueConstraint("login_id", name="uq_credentials_login_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", _when(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("subject_type", sa.String(30), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("applicant_id", sa.String(36), nullable=True),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("to_addr", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("sent_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["applicants.id"], name="fk_mail_outbox_applicant_id_applicants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
    )
    op.create_index("ix_mail_outbox_applicant_id", "mail_outbox", ["applicant_id"])
    op.create_index("ix_mail_outbox_status", "mail_outbox", ["status"])
    _append_only()


def _append_only() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    elif dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("mail_outbox")  # drops its indexes with it
    op.drop_table("audit_log")  # and its triggers
    op.drop_table("credentials")
    op.drop_table("auth_codes")
    op.drop_table("terms_open_events")
    op.drop_table("applicants")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION loanflow_refuse_change()")
