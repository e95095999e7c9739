"""The outbox: mails commit with their change and leave through a real SMTP server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import mail
from loanflow.db import SessionFactory, transaction
from loanflow.mail import AUTH_CODE_MAIL, LOGIN_ID_MAIL, DeliveryReport
from loanflow.tables import MailStatus, OutboxMail

from .conftest import FakeClock, Mailbox, free_port

CODE = "123456"


def _enqueue(db: SessionFactory, clock: FakeClock, to_addr: str, code: str | None = CODE) -> None:
    with transaction(db) as session:
        mail.enqueue(
            session,
            AUTH_CODE_MAIL,
            to_addr=to_addr,
            now=clock.now(),
            secret=code,
            family_name="山田",
            given_name="花子",
            expires_at=mail.format_jst(clock.now()),
        )


def _rows(engine: Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(OutboxMail).order_by(OutboxMail.id)))


class TestDeliverOutbox:
    def test_smoke(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        _enqueue(db, clock, "hanako@example.jp")
        assert _rows(engine)[0].secret == CODE
        assert CODE not in _rows(engine)[0].body  # only the placeholder is in the body
        assert mailbox.deliver(db, clock=clock) == DeliveryReport(sent=1, failed=0)
        (message,) = mailbox.received("hanako@example.jp", "【ろうきん】認証コードのご案内")
        assert mailbox.code_for("hanako@example.jp") == CODE
        assert message.get_content_charset() == "utf-8"
        assert b"=?utf-8?" in mailbox.raw[0]  # the Japanese subject is RFC 2047 encoded
        assert max(len(line) for line in mailbox.raw[0].splitlines()) <= 998
        (row,) = _rows(engine)
        assert row.status == MailStatus.SENT.value
        assert row.sent_at is not None
        assert row.attempts == 1
        assert row.secret is None
        assert mailbox.deliver(db) == DeliveryReport(sent=0, failed=0)  # sent once only

    def test_unreachable_server_keeps_mails_pending(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        _enqueue(db, clock, "a@example.jp")
        _enqueue(db, clock, "b@example.jp")
        report = mail.deliver_outbox(db, "127.0.0.1", free_port(), clock=clock, timeout_s=2)
        assert report == DeliveryReport(sent=0, failed=2)
        rows = _rows(engine)
        assert [r.status for r in rows] == [MailStatus.PENDING.value] * 2
        assert [r.attempts for r in rows] == [1, 1]
        assert all(r.last_error and r.secret == CODE for r in rows)
        assert mailbox.deliver(db, clock=clock) == DeliveryReport(sent=2, failed=0)
        assert [r.attempts for r in _rows(engine)] == [2, 2]

    def test_refused_recipient_stays_pending_others_go(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        _enqueue(db, clock, "x" + Mailbox.REFUSED_DOMAIN)
        _enqueue(db, clock, "ok@example.jp")
        assert mailbox.deliver(db, clock=clock) == DeliveryReport(sent=1, failed=1)
        refused, sent = _rows(engine)
        assert refused.status == MailStatus.PENDING.value
        assert refused.attempts == 1
        assert "550" in refused.last_error
        assert sent.status == MailStatus.SENT.value
        assert mailbox.deliver(db, clock=clock) == DeliveryReport(sent=0, failed=1)
        assert _rows(engine)[0].attempts == 2

    def test_rolled_back_change_sends_nothing(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        def failing_change() -> None:
            with transaction(db) as session:
                mail.enqueue(
                    session,
                    LOGIN_ID_MAIL,
                    to_addr="a@example.jp",
                    now=clock.now(),
                    family_name="山田",
                    given_name="花子",
                    login_id="ABCDEFGHJK",
                )
                raise RuntimeError("the state change failed")

        with pytest.raises(RuntimeError):
            failing_change()
        assert _rows(engine) == []
        assert mailbox.deliver(db) == DeliveryReport(sent=0, failed=0)
