"""The append-only audit log: one row per state transition, in the transition's transaction.

There is deliberately no update or delete function here; the ORM and database triggers
refuse both (see ``loanflow.tables``). Details never hold codes, passwords or tokens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from loanflow.tables import AuditEntry

__all__ = ["ANONYMOUS", "SYSTEM", "applicant_actor", "record"]

SYSTEM = "system"
ANONYMOUS = "anonymous"  # a browser before registration


def applicant_actor(applicant_id: str) -> str:
    """The actor string of an applicant: ``"applicant:<id>"``."""
    return f"applicant:{applicant_id}"


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to ``session``; it commits or rolls back with the change it records.

    Args:
        session: The session of the transition's transaction.
        at: When the transition happened (``Clock.now()``).
        actor: Who did it: ``applicant_actor(id)``, ``SYSTEM`` or ``ANONYMOUS``.
        action: Dotted slug, e.g. ``"mypage.registered"``, ``"login.failed"``.
        subject_type: The kind of object changed, e.g. ``"applicant"``.
        subject_id: Its id.
        detail: Small JSON-safe facts (counts, expiry); never secrets.
    """
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=dict(detail or {}),
    )
    session.add(entry)
    return entry
