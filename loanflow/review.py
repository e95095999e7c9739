"""The bank's review (step 8, first half): staff take up a submitted application and decide.

A provisional pre-screening ends in ``PRESCREEN_APPROVED`` (the applicant then starts
the full application); a full application is approved only once its identity check is
done (accepted by the verifier, or passed to a person who now decides), and its approval
opens the e-signature in the same transaction (``loanflow.esign.open_esign`` mails the
signing code).
"""

from __future__ import annotations

import enum

from loanflow import esign
from loanflow.access import locked_application, record, staff_actor
from loanflow.application_tables import EkycStatus
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import InvalidTransition
from loanflow.forms import ApplicationKind
from loanflow.states import Action, next_status

__all__ = ["ReviewResult", "set_review_result", "start_review"]


class ReviewResult(enum.StrEnum):
    """What staff can decide."""

    APPROVED = "approved"  # 仮審査承認 for a provisional application, 承認 for a full one
    DECLINED = "declined"


def start_review(db: SessionFactory, application_id: str, staff_id: str, *, clock: Clock) -> None:
    """Take up a submitted application (審査中).

    Raises:
        NotFound: No such application.
        InvalidTransition: Not submitted.
    """
    now = clock.now()
    with transaction(db) as session:
        application = locked_application(session, application_id)
        application.status = next_status(application.status, Action.START_REVIEW, application.kind)
        application.updated_at = now
        record(session, application, at=now, actor=staff_actor(staff_id), action="review.started")


def set_review_result(
    db: SessionFactory,
    application_id: str,
    staff_id: str,
    result: ReviewResult,
    *,
    clock: Clock,
    bank_note: str | None = None,
) -> None:
    """Record the decision, with an optional note shown to the applicant.

    Raises:
        NotFound: No such application.
        InvalidTransition: Not under review, or a full application whose identity check
            is not done.
        DeadlinePassed: Approving a full application whose e-signature deadline (12:00
            JST of the business day before the loan date) has passed.
    """
    now = clock.now()
    with transaction(db) as session:
        application = locked_application(session, application_id)
        if result is ReviewResult.DECLINED:
            action = Action.DECLINE
        elif application.kind is ApplicationKind.PROVISIONAL:
            action = Action.APPROVE_PRESCREEN
        else:
            action = Action.APPROVE
        target = next_status(application.status, action, application.kind)
        if action is Action.APPROVE and application.ekyc_status not in (
            EkycStatus.ACCEPTED,
            EkycStatus.REVIEW,
        ):
            raise InvalidTransition(
                "the identity check is not done", ekyc_status=application.ekyc_status
            )
        application.status = target
        application.decided_at = now
        application.updated_at = now
        if bank_note is not None:
            application.bank_note = bank_note
        record(
            session,
            application,
            at=now,
            actor=staff_actor(staff_id),
            action=f"review.{result.value}",
            detail={"status": target.value},
        )
        if action is Action.APPROVE:
            esign.open_esign(session, application, now=now, actor=staff_actor(staff_id))
