"""Refused eKYC shots: why and when a step was asked again (never the bytes).

``ekyc_refusals``: one row per shot refused on arrival for a retake; the judged retakes of
a step (blur, glare, tilt, thickness) are limited by counting them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ekyc_refusals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("shot", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("refused_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["ekyc_sessions.id"],
            name="fk_ekyc_refusals_session_id_ekyc_sessions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ekyc_refusals"),
    )
    op.create_index("ix_ekyc_refusals_session_id", "ekyc_refusals", ["session_id"])


def downgrade() -> None:
    op.drop_table("ekyc_refusals")
