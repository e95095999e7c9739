"""Staff API: bank employees authenticate with a bearer token (``Authorization: Bearer``)::

    GET  /v1/staff/whoami
    POST /v1/staff/applications/{id}/review            take up a submitted application
    POST /v1/staff/applications/{id}/review/result     {result, bank_note?}; approval mails
                                                        the signing code
    POST /v1/staff/applications/{id}/messages          {body} to the applicant
    POST /v1/staff/applications/{id}/signature         the bank's signature: contract filed

The staff id comes from the token and is written to the audit trail of each step.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path

from loanflow import bank_sign, send_bank_message, set_review_result, start_review
from service.application_schemas import FileOut, MessageIn, MessageOut, ReviewResultIn
from service.deps import ClockDep, CurrentStaff, DbDep, RuntimeDep
from service.schemas import StaffOut

__all__ = ["router"]

router = APIRouter(prefix="/v1/staff", tags=["staff"])

ApplicationId = Annotated[str, Path(max_length=64)]


@router.get("/whoami")
def whoami(staff_id: CurrentStaff) -> StaffOut:
    """The staff id the token belongs to (a check for the bank's back office)."""
    return StaffOut(staff_id=staff_id)


@router.post("/applications/{application_id}/review", status_code=204)
def review_start(
    application_id: ApplicationId, staff_id: CurrentStaff, db: DbDep, clock: ClockDep
) -> None:
    """Take up a submitted application (審査中)."""
    start_review(db, application_id, staff_id, clock=clock)


@router.post("/applications/{application_id}/review/result", status_code=204)
def review_result(
    application_id: ApplicationId,
    body: ReviewResultIn,
    staff_id: CurrentStaff,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> None:
    """Record the decision and the note shown to the applicant; approval opens the e-signature."""
    set_review_result(
        runtime.db, application_id, staff_id, body.result, clock=clock, bank_note=body.bank_note
    )
    background.add_task(runtime.mailer.deliver, clock)


@router.post("/applications/{application_id}/messages", status_code=201)
def message_applicant(
    application_id: ApplicationId,
    body: MessageIn,
    staff_id: CurrentStaff,
    db: DbDep,
    clock: ClockDep,
) -> MessageOut:
    """Write to the applicant about the application."""
    return MessageOut.of(send_bank_message(db, application_id, staff_id, body.body, clock=clock))


@router.post("/applications/{application_id}/signature", status_code=201)
def bank_signature(
    application_id: ApplicationId,
    staff_id: CurrentStaff,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> FileOut:
    """The bank signs after the applicant: the contract is concluded and filed (mailed)."""
    stored = bank_sign(runtime.db, application_id, staff_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return FileOut.of(stored)
