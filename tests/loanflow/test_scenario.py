"""The guide walked end to end (registration to contract), reading the real mails; and a
kill mid-step."""

from __future__ import annotations

import hashlib
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

from ekyc.types import DocumentType
from loanflow import (
    accounts,
    applications,
    consents,
    documents,
    ekyc_session,
    esign,
    mypage,
    mypage_views,
    review,
)
from loanflow.application_tables import Application, ApplicationStatus, FileKind
from loanflow.db import SessionFactory
from loanflow.errors import CodeInvalid, InvalidTransition
from loanflow.forms import ApplicationKind
from loanflow.states import labels
from loanflow.tables import Applicant, ApplicantStatus, AuditEntry, TermsOpenEvent
from loanflow.verifier import DecodeCheckVerifier, required_shots

from .conftest import FakeClock, Mailbox, snapshot
from .factories import (
    FAST_HASHER,
    PASSWORD,
    activate,
    consent_all,
    detailed_info,
    image_bytes,
    ready_to_submit,
    registration,
)
from .test_applications import ekyc_token
from .test_esign import CONTRACT_MAIL, ESIGN_MAIL, esign_code

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


def test_provisional_to_approved_full_application(
    db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
) -> None:
    """Steps 3-8: pre-screening, full application, eKYC, approval, e-signature, contract."""
    email = "hanako@example.jp"
    applicant, login_id = activate(db, clock, mailbox, email)
    assert accounts.login(db, login_id, PASSWORD, clock=clock, hasher=FAST_HASHER)
    prescreen = ready_to_submit(db, clock, applicant, ApplicationKind.PROVISIONAL)
    applications.submit(db, applicant, prescreen, clock=clock)
    review.start_review(db, prescreen, "staff-1", clock=clock)
    review.set_review_result(db, prescreen, "staff-1", review.ReviewResult.APPROVED, clock=clock)
    full = applications.start_full_application(db, applicant, prescreen, clock=clock)
    applications.save_detailed(db, applicant, full, detailed_info(), clock=clock)  # + transfers
    for name, fmt in (("源泉徴収票.jpg", "JPEG"), ("見積書.heic", "HEIF")):
        documents.add_document(db, applicant, full, name, image_bytes(fmt), clock=clock)
    applications.confirm(db, applicant, full, clock=clock)
    consent_all(db, clock, applicant, full)
    applications.submit(db, applicant, full, clock=clock)
    assert mailbox.deliver(db, clock=clock).sent == 3  # 2 receipts, 1 eKYC request
    token = ekyc_token(mailbox, email)
    clock.advance(minutes=30)
    ekyc_session.choose_document(db, token, DocumentType.DRIVERS_LICENSE, clock=clock)
    for seed, shot in enumerate(required_shots(DocumentType.DRIVERS_LICENSE)):
        ekyc_session.add_shot(db, token, shot, image_bytes("JPEG", (320, 200), seed), clock=clock)
    ekyc_session.finish(db, token, DecodeCheckVerifier(), clock=clock)
    review.start_review(db, full, "staff-2", clock=clock)
    review.set_review_result(db, full, "staff-2", review.ReviewResult.APPROVED, clock=clock)
    assert mailbox.deliver(db, clock=clock).sent == 1  # 電子契約手続きのお願い
    assert labels(_status(engine, full)).contract == "お客様契約実施中"
    clock.advance(days=1)  # Saturday: the e-signature is online, any day before the deadline
    for document in consents.CONTRACT_DOCUMENTS:  # 8. each opened, then ticked
        opened = consents.open_document(db, applicant, full, document.slug, clock=clock)
        esign.accept_contract_document(db, applicant, full, document.slug, opened.id, clock=clock)
    esign.sign(db, applicant, full, esign_code(mailbox, email), clock=clock)
    assert labels(_status(engine, full)).contract == "ろうきん契約手続中"
    clock.advance(days=2)
    contract = esign.bank_sign(db, full, "staff-3", clock=clock)
    assert mailbox.deliver(db, clock=clock).sent == 1
    assert "ご融資予定日：2025年05月12日" in mailbox.last_body(email, CONTRACT_MAIL)
    files = {f.id: f for f in mypage_views.application_detail(db, applicant, full).files}
    assert files[contract.id].kind is FileKind.CONTRACT
    _, data = documents.read_file(db, applicant, full, contract.id)
    assert hashlib.sha256(data).hexdigest() == contract.sha256
    with engine.connect() as connection:
        statuses = dict(connection.execute(sa.select(Application.id, Application.status)).all())
        trail = connection.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.subject_id == full)
            .order_by(AuditEntry.id)
        ).all()
    assert statuses == {prescreen: "prescreen_approved", full: "contracted"}
    assert labels(ApplicationStatus(statuses[full])).contract == "契約済"
    assert trail[0] == "application.full_started"
    assert trail[-13:] == [
        "application.submitted",
        "ekyc.url_issued",
        "ekyc.verified",
        "review.started",
        "review.approved",
        "esign.code_issued",
        "document.opened",
        "consent.given",
        "document.opened",
        "consent.given",
        "esign.customer_signed",
        "file.added",
        "contract.concluded",
    ]
    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects[-2:] == [ESIGN_MAIL, CONTRACT_MAIL]


def _status(engine: Engine, application_id: str) -> ApplicationStatus:
    with engine.connect() as connection:
        status = connection.scalar(
            sa.select(Application.status).where(Application.id == application_id)
        )
    return ApplicationStatus(status)
