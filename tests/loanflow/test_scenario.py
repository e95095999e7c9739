"""The guide's steps 1-2 walked end to end, reading the real mails; and a kill mid-step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import accounts, mypage
from loanflow.db import SessionFactory
from loanflow.errors import CodeInvalid, InvalidTransition
from loanflow.tables import Applicant, ApplicantStatus, AuditEntry, TermsOpenEvent

from .conftest import FakeClock, Mailbox, snapshot
from .factories import PASSWORD, registration

REPO = Path(__file__).resolve().parents[2]


def test_registration_to_login(
    db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
) -> None:
    email = "ichiro@example.jp"
    terms = mypage.record_terms_opened(db, clock=clock)  # 1. the terms are shown first
    clock.advance(minutes=2)
    form = registration(
        terms.id,
        family_name="鈴木",
        given_name="一郎",
        email=email,
        family_name_kana="スズキ",
        given_name_kana="イチロウ",
        postal_code="530-0001",
        address="大阪府大阪市北区梅田1-1-1",
        mobile_phone="090-1234-5678",
    )
    issued = mypage.register(db, form, clock=clock)
    assert mailbox.deliver(db, clock=clock).sent == 1  # 認証コードのご案内
    clock.advance(minutes=3)
    mypage.verify_registration_code(db, issued.applicant_id, mailbox.code_for(email), clock=clock)
    accounts.set_password(db, issued.applicant_id, PASSWORD, PASSWORD, clock=clock)  # 2.
    assert mailbox.deliver(db, clock=clock).sent == 1  # ログインIDのご案内
    login_id = mailbox.login_id_for(email)
    clock.advance(days=1)
    logged_in = accounts.login(db, login_id, PASSWORD, clock=clock)
    assert logged_in.applicant_id == issued.applicant_id
    with engine.connect() as connection:
        applicant = connection.execute(sa.select(Applicant)).one()
        trail = connection.execute(
            sa.select(AuditEntry.action, AuditEntry.actor).order_by(AuditEntry.id)
        ).all()
    assert applicant.status == ApplicantStatus.ACTIVE.value
    assert applicant.mobile_phone == "090-1234-5678"  # kept to pre-fill later forms
    assert [action for action, _ in trail] == [
        "terms.opened",
        "mypage.registered",
        "code.issued",
        "code.verified",
        "account.activated",
        "login.succeeded",
    ]
    assert {actor for _, actor in trail[1:]} == {f"applicant:{issued.applicant_id}"}
    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects == ["【ろうきん】認証コードのご案内", "【ろうきん】ログインIDのご案内"]


KILL_MID_REGISTRATION = textwrap.dedent(
    """
    import os, signal, sys
    from loanflow import db, mypage
    from loanflow.clock import SystemClock
    from tests.loanflow.factories import registration

    def killed(session, applicant, now):
        session.flush()  # the applicant and the consumed terms are written, not committed
        os.kill(os.getpid(), signal.SIGKILL)

    mypage._send_code = killed
    engine = db.create_engine(sys.argv[1])
    mypage.register(db.session_factory(engine), registration(sys.argv[2]), clock=SystemClock())
    """
)


def test_killed_mid_registration_leaves_the_old_state(
    db_url: str, db: SessionFactory, engine: Engine, clock: FakeClock
) -> None:
    terms = mypage.record_terms_opened(db, clock=clock)
    before = snapshot(engine)
    engine.dispose()  # no pooled connection of ours during the kill
    child = subprocess.run(
        [sys.executable, "-c", KILL_MID_REGISTRATION, db_url, terms.id],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert snapshot(engine) == before  # no applicant, the terms open still unused
    with engine.connect() as connection:
        assert connection.scalar(sa.select(TermsOpenEvent.consumed_at)) is None
    issued = mypage.register(db, registration(terms.id), clock=clock)  # the old state works
    assert issued.applicant_id


@pytest.mark.parametrize(
    ("step", "expectation"),
    [
        ("verify", pytest.raises(CodeInvalid)),  # counted against the other's code
        ("set_password", pytest.raises(InvalidTransition)),  # the other is not past the code
    ],
)
def test_my_code_does_not_work_for_another_applicant(
    db: SessionFactory,
    engine: Engine,
    clock: FakeClock,
    mailbox: Mailbox,
    step: str,
    expectation: AbstractContextManager[object],
) -> None:
    mine = mypage.register(
        db, registration(mypage.record_terms_opened(db, clock=clock).id), clock=clock
    )
    other_form = registration(
        mypage.record_terms_opened(db, clock=clock).id, email="other@example.jp"
    )
    other = mypage.register(db, other_form, clock=clock)
    mailbox.deliver(db)
    my_code = mailbox.code_for("hanako@example.jp")
    if my_code == mailbox.code_for("other@example.jp"):
        pytest.skip("both draws gave the same code (one chance in a million)")
    mypage.verify_registration_code(db, mine.applicant_id, my_code, clock=clock)
    before = snapshot(engine)
    with expectation:
        if step == "verify":
            mypage.verify_registration_code(db, other.applicant_id, my_code, clock=clock)
        else:
            accounts.set_password(db, other.applicant_id, PASSWORD, PASSWORD, clock=clock)
    if step == "set_password":
        assert snapshot(engine) == before
