"""E-signature: codes of one application, and when the applicant signed.

``auth_codes.application_id``: a one-time code may belong to one application.

The signing code is mailed per approved application, so an applicant with two approved
applications holds two live codes; reissuing one must not kill the other.

``applications.customer_signed_at``: the applicant's e-signature, which the contract states.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "applications", sa.Column("customer_signed_at", sa.DateTime(timezone=True), nullable=True)
    )
    # batch: SQLite cannot add a named foreign key in place, so the table is copied
    # (auth_codes has no triggers to lose); PostgreSQL gets plain ALTER TABLE.
    with op.batch_alter_table("auth_codes") as batch:
        batch.add_column(sa.Column("application_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            "fk_auth_codes_application_id_applications",
            "applications",
            ["application_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("auth_codes") as batch:
        batch.drop_constraint("fk_auth_codes_application_id_applications", type_="foreignkey")
        batch.drop_column("application_id")
    op.drop_column("applications", "customer_signed_at")  # SQLite >= 3.35
