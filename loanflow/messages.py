"""Messages between the applicant and the bank about one application (step 7).

The applicant writes on their own application only (``Forbidden`` otherwise); staff
write on any. Messages are kept as sent: there is no edit or delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow import audit
from loanflow.access import locked_application, owned_application, record, staff_actor
from loanflow.application_tables import Application, Message, MessageSender
from loanflow.clock import Clock
from loanflow.db import SessionFactory, transaction
from loanflow.errors import ValidationFailed
from loanflow.validation import check_required_text

__all__ = [
    "MESSAGE_MAX",
    "MessageView",
    "list_messages",
    "message_view",
    "send_bank_message",
    "send_message",
]

MESSAGE_MAX = 2000  # characters per message


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as the thread shows it."""

    id: int
    sender: MessageSender
    body: str
    sent_at: datetime


def message_view(row: Message) -> MessageView:
    """The message row as a frozen value."""
    return MessageView(id=row.id, sender=row.sender, body=row.body, sent_at=row.sent_at)


def _checked(body: str) -> str:
    text = body.replace("\r\n", "\n").strip()
    # line breaks are welcome in a message; other control characters are not
    problems = check_required_text("body", text.replace("\n", " "), max_length=MESSAGE_MAX)
    if problems:
        raise ValidationFailed(tuple(problems))
    return text


def _add(
    session: Session,
    application: Application,
    sender: MessageSender,
    actor: str,
    body: str,
    now: datetime,
) -> MessageView:
    row = Message(
        application_id=application.id, sender=sender, author=actor, body=body, sent_at=now
    )
    session.add(row)
    session.flush()  # the id, for the audit row
    detail = {"message_id": row.id, "sender": sender.value}
    record(session, application, at=now, actor=actor, action="message.sent", detail=detail)
    return message_view(row)


def send_message(
    db: SessionFactory, applicant_id: str, application_id: str, body: str, *, clock: Clock
) -> MessageView:
    """The applicant writes to the bank about their application.

    Raises:
        ValidationFailed: Empty, over 2000 characters, or control characters.
        NotFound, Forbidden: No such application / another applicant's.
    """
    text = _checked(body)
    now = clock.now()
    with transaction(db) as session:
        application = owned_application(session, applicant_id, application_id)
        actor = audit.applicant_actor(applicant_id)
        return _add(session, application, MessageSender.APPLICANT, actor, text, now)


def send_bank_message(
    db: SessionFactory, application_id: str, staff_id: str, body: str, *, clock: Clock
) -> MessageView:
    """Staff write to the applicant about an application.

    Raises:
        ValidationFailed: As ``send_message``.
        NotFound: No such application.
    """
    text = _checked(body)
    now = clock.now()
    with transaction(db) as session:
        application = locked_application(session, application_id)
        return _add(session, application, MessageSender.BANK, staff_actor(staff_id), text, now)


def list_messages(
    db: SessionFactory, applicant_id: str, application_id: str
) -> tuple[MessageView, ...]:
    """The thread of the applicant's application, oldest first.

    Raises:
        NotFound, Forbidden: No such application / another applicant's.
    """
    with transaction(db) as session:
        owned_application(session, applicant_id, application_id)
        rows = session.scalars(
            sa.select(Message)
            .where(Message.application_id == application_id)
            .order_by(Message.sent_at, Message.id)
        )
        return tuple(message_view(row) for row in rows)
