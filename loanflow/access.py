"""Loading an application for a step: who may touch it, with its row locked, and its audit.

Every step starts with ``owned_application`` (the applicant's own steps) or
``locked_application`` (the bank's steps), which lock the row (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock), so two steps on
one application never interleave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from loanflow import audit
from loanflow.application_tables import Application
from loanflow.errors import Forbidden, NotFound

__all__ = ["locked_application", "owned_application", "record", "staff_actor"]


def staff_actor(staff_id: str) -> str:
    """The actor string of a bank employee: ``"staff:<id>"``."""
    return f"staff:{staff_id}"


def locked_application(session: Session, application_id: str) -> Application:
    """The application, locked; ``NotFound`` when there is none."""
    application = session.get(Application, application_id, with_for_update=True)
    if application is None:
        raise NotFound("no such application", application_id=application_id)
    return application


def owned_application(session: Session, applicant_id: str, application_id: str) -> Application:
    """The applicant's own application, locked.

    Raises:
        NotFound: No such application.
        Forbidden: It belongs to another applicant.
    """
    application = locked_application(session, application_id)
    if application.applicant_id != applicant_id:
        raise Forbidden("this application belongs to another applicant")
    return application


def record(
    session: Session,
    application: Application,
    *,
    at: datetime,
    actor: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a step on ``application`` (in the step's transaction)."""
    audit.record(
        session,
        at=at,
        actor=actor,
        action=action,
        subject_type="application",
        subject_id=application.id,
        detail=detail,
    )
