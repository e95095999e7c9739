"""Mail through an outbox: written with the state change, delivered later over SMTP.

``enqueue`` adds an ``OutboxMail`` row in the caller's transaction, so a mail exists if
and only if the change that caused it committed. ``deliver_outbox`` sends pending rows
with ``smtplib``, one transaction per mail: a sent mail is marked ``sent``; a failure
keeps it ``pending`` with ``attempts`` counted and the error kept. Delivery is at least
once: a crash between the SMTP reply and the commit sends that mail again next run.

Subjects and bodies are Japanese: ``EmailMessage`` encodes the subject as RFC 2047
UTF-8 and the body as UTF-8 base64, which every mail client reads.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from loanflow.clock import JST, Clock, SystemClock
from loanflow.db import SessionFactory, transaction
from loanflow.tables import MailStatus, OutboxMail

__all__ = [
    "AUTH_CODE_MAIL",
    "DEFAULT_SENDER",
    "LOGIN_ID_MAIL",
    "DeliveryReport",
    "MailTemplate",
    "deliver_outbox",
    "enqueue",
    "format_jst",
]

DEFAULT_SENDER = "ろうきん <noreply@rokin.example>"
# Where the one-time secret goes in a stored body; filled in at delivery only.
SECRET_MARK = "[[SECRET]]"  # noqa: S105 (a placeholder, not a secret)

_FOOTER = """
このメールにお心当たりのない場合は、お手数ですが破棄してください。
※このメールは送信専用です。ご返信いただいてもお答えできません。

ろうきん スマートフォンローン受付
"""


@dataclass(frozen=True, slots=True)
class MailTemplate:
    """A plain-text mail; ``body`` uses ``str.format`` fields and ``{secret}`` for a code."""

    name: str
    subject: str
    body: str


AUTH_CODE_MAIL = MailTemplate(
    name="auth_code",
    subject="【ろうきん】認証コードのご案内",
    body="""{family_name} {given_name} 様

ろうきんのスマートフォンローン申込サービスをご利用いただき、ありがとうございます。
My Page 登録の認証コードをお知らせします。

認証コード：{secret}
有効期限：{expires_at}（発行から5分間）

登録画面に認証コードを入力してください。
有効期限が過ぎた場合は、登録画面から認証コードを再発行してください。
"""
    + _FOOTER,
)

LOGIN_ID_MAIL = MailTemplate(
    name="login_id",
    subject="【ろうきん】ログインIDのご案内",
    body="""{family_name} {given_name} 様

My Page の登録が完了しました。ログインIDをお知らせします。

ログインID：{login_id}

ログインIDはシステムが発行したもので、変更することはできません。
ログインの際は、このログインIDと登録したパスワードを入力してください。
パスワードを続けて5回間違えると、30分間ログインできなくなります。
"""
    + _FOOTER,
)


def format_jst(instant: datetime) -> str:
    """``2025年05月02日 12:00`` in Japan time, as the mails show instants."""
    return f"{instant.astimezone(JST):%Y年%m月%d日 %H:%M}"


def enqueue(
    session: Session,
    template: MailTemplate,
    *,
    to_addr: str,
    now: datetime,
    applicant_id: str | None = None,
    secret: str | None = None,
    **fields: str,
) -> OutboxMail:
    """Add a pending mail to ``session`` (it commits with the caller's transaction).

    Args:
        session: The transaction of the state change that sends the mail.
        template: What to send.
        to_addr: The recipient.
        now: Creation time.
        applicant_id: The applicant the mail belongs to, if any.
        secret: A one-time code: kept apart from the body and erased once sent.
        **fields: Values for the template's ``str.format`` fields.
    """
    body = template.body.format(secret=SECRET_MARK, **fields)
    mail = OutboxMail(
        applicant_id=applicant_id,
        template=template.name,
        to_addr=to_addr,
        subject=template.subject,
        body=body,
        secret=secret,
        status=MailStatus.PENDING,
        attempts=0,
        created_at=now,
    )
    session.add(mail)
    return mail


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``deliver_outbox`` run did."""

    sent: int
    failed: int


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = mail.to_addr
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = make_msgid(idstring=f"outbox{mail.id}")
    body = mail.body.replace(SECRET_MARK, mail.secret) if mail.secret else mail.body
    message.set_content(body, charset="utf-8", cte="base64")
    return message


def _pending_ids(db: SessionFactory, limit: int) -> list[int]:
    with transaction(db) as session:
        query = (
            sa.select(OutboxMail.id)
            .where(OutboxMail.status == MailStatus.PENDING)
            .order_by(OutboxMail.id)
            .limit(limit)
        )
        return list(session.scalars(query))


def _record_failure(mail: OutboxMail, error: Exception) -> None:
    mail.attempts += 1
    mail.last_error = f"{type(error).__name__}: {error}"[:500]


def _deliver_one(
    db: SessionFactory, smtp: smtplib.SMTP, mail_id: int, sender: str, clock: Clock
) -> bool | None:
    """Send one mail; ``None`` when another worker took or sent it meanwhile."""
    with transaction(db) as session:
        mail = session.get(OutboxMail, mail_id, with_for_update={"skip_locked": True})
        if mail is None or mail.status is not MailStatus.PENDING:
            return None
        try:
            smtp.send_message(_message(mail, sender))
        except (smtplib.SMTPException, OSError) as error:
            _record_failure(mail, error)
            return False
        mail.attempts += 1
        mail.status = MailStatus.SENT
        mail.sent_at = clock.now()
        mail.secret = None
        return True


def deliver_outbox(
    db: SessionFactory,
    smtp_host: str,
    smtp_port: int,
    *,
    clock: Clock | None = None,
    sender: str = DEFAULT_SENDER,
    limit: int = 100,
    timeout_s: float = 10.0,
) -> DeliveryReport:
    """Send up to ``limit`` pending mails, oldest first, over one SMTP connection.

    Never raises for mail problems: an unreachable server or a refused mail is counted
    on the row (``attempts``, ``last_error``) and reported in ``failed``.
    """
    clock = clock or SystemClock()
    ids = _pending_ids(db, limit)
    if not ids:
        return DeliveryReport(sent=0, failed=0)
    try:
        smtp = smtplib.SMTP(smtp_host, smtp_port, timeout=timeout_s)
    except (smtplib.SMTPException, OSError) as error:
        with transaction(db) as session:
            for mail in session.scalars(sa.select(OutboxMail).where(OutboxMail.id.in_(ids))):
                _record_failure(mail, error)
        return DeliveryReport(sent=0, failed=len(ids))
    outcomes: list[bool | None] = []
    with smtp:
        outcomes.extend(_deliver_one(db, smtp, mail_id, sender, clock) for mail_id in ids)
    return DeliveryReport(sent=outcomes.count(True), failed=outcomes.count(False))
