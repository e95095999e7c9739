"""Step 8: the e-signature (code mailed at approval, deadline, documents first) and the contract."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import applications, consents, documents, esign, review
from loanflow.application_tables import (
    Application,
    ApplicationFile,
    ApplicationStatus,
    EkycStatus,
    FileKind,
)
from loanflow.calendar import esign_deadline
from loanflow.codes import MAX_ATTEMPTS
from loanflow.db import SessionFactory, transaction
from loanflow.errors import (
    CodeInvalid,
    DeadlinePassed,
    Forbidden,
    InvalidTransition,
    Replay,
    TooManyAttempts,
)
from loanflow.tables import AuthCode

from .conftest import FakeClock, Mailbox, snapshot
from .factories import LOAN_DATE, accept_contract, activate, approved, ready_to_submit

EMAIL = "hanako@example.jp"
ESIGN_MAIL = "【ろうきん】電子契約手続きのお願い"
CONTRACT_MAIL = "【ろうきん】ローン契約完了のお知らせ"
DEADLINE = datetime(2025, 5, 9, 3, 0, tzinfo=UTC)  # 12:00 JST, Friday before the 5/12 loan


def esign_code(mailbox: Mailbox, to_addr: str = EMAIL) -> str:
    """The signing code of the latest 電子契約手続きのお願い mail."""
    body = mailbox.last_body(to_addr, ESIGN_MAIL)
    match = re.search(r"署名コード：([0-9]{6})$", body, re.MULTILINE)
    assert match, body
    return match.group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _status(engine: Engine, application_id: str) -> ApplicationStatus:
    with engine.connect() as connection:
        status = connection.scalar(
            sa.select(Application.status).where(Application.id == application_id)
        )
    return ApplicationStatus(status)


@pytest.fixture
def applicant(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> str:
    applicant_id, _ = activate(db, clock, mailbox, EMAIL)
    return applicant_id


@pytest.fixture
def application(db: SessionFactory, clock: FakeClock, mailbox: Mailbox, applicant: str) -> str:
    application_id = approved(db, clock, applicant)
    mailbox.deliver(db)
    return application_id


class TestOpen:
    def test_approval_mails_a_code_valid_until_the_deadline(
        self, engine: Engine, mailbox: Mailbox, application: str
    ) -> None:
        assert esign_deadline(LOAN_DATE) == DEADLINE
        body = mailbox.last_body(EMAIL, ESIGN_MAIL)
        assert "入力期限：2025年05月09日 12:00" in body
        assert application in body
        with engine.connect() as connection:
            code = connection.execute(sa.select(AuthCode).where(AuthCode.purpose == "esign")).one()
        assert code.application_id == application
        assert code.expires_at.replace(tzinfo=UTC) == DEADLINE
        assert _status(engine, application) is ApplicationStatus.APPROVED

    def test_approval_after_the_deadline_changes_nothing(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant)
        applications.submit(db, applicant, application_id, clock=clock)
        with transaction(db) as session:
            session.get_one(Application, application_id).ekyc_status = EkycStatus.ACCEPTED
        review.start_review(db, application_id, "staff-1", clock=clock)
        clock.advance(seconds=(DEADLINE - clock.now()).total_seconds() + 1)
        before = snapshot(engine)
        with pytest.raises(DeadlinePassed):
            review.set_review_result(
                db, application_id, "staff-1", review.ReviewResult.APPROVED, clock=clock
            )
        assert snapshot(engine) == before


class TestContractDocuments:
    def test_must_be_opened_before_ticking(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str, application: str
    ) -> None:
        before = snapshot(engine)
        with pytest.raises(InvalidTransition, match="opened"):
            esign.accept_contract_document(
                db, applicant, application, "loan_terms", "never-opened", clock=clock
            )
        opened = consents.open_document(db, applicant, application, "personal_info", clock=clock)
        with pytest.raises(InvalidTransition, match="contract document"):
            esign.accept_contract_document(
                db, applicant, application, "personal_info", opened.id, clock=clock
            )
        assert snapshot(engine)["consents"] == before["consents"]

    def test_signing_needs_every_document(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        opened = consents.open_document(db, applicant, application, "loan_terms", clock=clock)
        esign.accept_contract_document(
            db, applicant, application, "loan_terms", opened.id, clock=clock
        )
        before = snapshot(engine)
        with pytest.raises(InvalidTransition, match="contract document") as raised:
            esign.sign(db, applicant, application, esign_code(mailbox), clock=clock)
        assert raised.value.context["missing"] == ["loan_contract"]
        assert snapshot(engine) == before  # the code was not even tried


class TestSign:
    def test_wrong_codes_are_counted_then_the_code_dies(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        accept_contract(db, clock, applicant, application)
        code = esign_code(mailbox)
        with pytest.raises(CodeInvalid) as raised:
            esign.sign(db, applicant, application, _wrong(code), clock=clock)
        assert raised.value.context["attempts_left"] == MAX_ATTEMPTS - 1
        for _ in range(MAX_ATTEMPTS - 2):
            with pytest.raises(CodeInvalid):
                esign.sign(db, applicant, application, _wrong(code), clock=clock)
        with pytest.raises(TooManyAttempts):
            esign.sign(db, applicant, application, _wrong(code), clock=clock)
        with pytest.raises(TooManyAttempts):
            esign.sign(db, applicant, application, code, clock=clock)  # right, but dead
        assert _status(engine, application) is ApplicationStatus.APPROVED
        assert esign.reissue_esign_code(db, applicant, application, clock=clock) == DEADLINE
        mailbox.deliver(db)
        esign.sign(db, applicant, application, esign_code(mailbox), clock=clock)
        assert _status(engine, application) is ApplicationStatus.CUSTOMER_SIGNED

    def test_replay_and_another_applicant_are_refused(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        accept_contract(db, clock, applicant, application)
        code = esign_code(mailbox)
        other, _ = activate(db, clock, mailbox, "other@example.jp")
        before = snapshot(engine)
        with pytest.raises(Forbidden):
            esign.sign(db, other, application, code, clock=clock)
        assert snapshot(engine) == before
        esign.sign(db, applicant, application, code, clock=clock)
        before = snapshot(engine)
        with pytest.raises(Replay):
            esign.sign(db, applicant, application, code, clock=clock)
        with pytest.raises(InvalidTransition):
            esign.reissue_esign_code(db, applicant, application, clock=clock)
        assert snapshot(engine) == before

    def test_missed_deadline_changes_nothing(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        accept_contract(db, clock, applicant, application)
        code = esign_code(mailbox)
        clock.advance(seconds=(DEADLINE - clock.now()).total_seconds() + 1)  # 12:00:01 JST
        before = snapshot(engine)
        with pytest.raises(DeadlinePassed) as raised:
            esign.sign(db, applicant, application, code, clock=clock)
        assert raised.value.context["deadline"] == DEADLINE
        opened = consents.open_document(db, applicant, application, "loan_terms", clock=clock)
        with pytest.raises(DeadlinePassed):
            esign.accept_contract_document(
                db, applicant, application, "loan_terms", opened.id, clock=clock
            )
        with pytest.raises(DeadlinePassed):
            esign.reissue_esign_code(db, applicant, application, clock=clock)
        after = snapshot(engine)
        assert {k: v for k, v in after.items() if k not in {"terms_open_events", "audit_log"}} == {
            k: v for k, v in before.items() if k not in {"terms_open_events", "audit_log"}
        }
        assert len(after["audit_log"]) == len(before["audit_log"]) + 1  # the open only
        assert _status(engine, application) is ApplicationStatus.APPROVED

    def test_in_time_at_the_deadline(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        accept_contract(db, clock, applicant, application)
        clock.advance(seconds=(DEADLINE - clock.now()).total_seconds())  # 12:00:00 JST
        esign.sign(db, applicant, application, esign_code(mailbox), clock=clock)
        assert _status(engine, application) is ApplicationStatus.CUSTOMER_SIGNED


class TestBankSign:
    def test_needs_the_applicant_signature(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, application: str
    ) -> None:
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            esign.bank_sign(db, application, "staff-9", clock=clock)
        assert snapshot(engine) == before

    def test_concludes_files_and_mails_the_contract(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        applicant: str,
        application: str,
    ) -> None:
        accept_contract(db, clock, applicant, application)
        esign.sign(db, applicant, application, esign_code(mailbox), clock=clock)
        clock.advance(hours=2)
        stored = esign.bank_sign(db, application, "staff-9", clock=clock)
        assert mailbox.deliver(db).sent == 1
        body = mailbox.last_body(EMAIL, CONTRACT_MAIL)
        assert "ご融資予定日：2025年05月12日" in body
        assert stored.kind is FileKind.CONTRACT
        meta, data = documents.read_file(db, applicant, application, stored.id)
        assert hashlib.sha256(data).hexdigest() == meta.sha256 == stored.sha256
        assert data.startswith(b"%PDF") or "金銭消費貸借契約書" in data.decode()
        with engine.connect() as connection:
            row = connection.execute(sa.select(Application)).one()
            added_by = connection.scalar(
                sa.select(ApplicationFile.added_by).where(
                    ApplicationFile.kind == FileKind.CONTRACT.value
                )
            )
        assert row.status == ApplicationStatus.CONTRACTED.value
        assert row.contracted_at.replace(tzinfo=UTC) == clock.now()
        assert added_by == "staff:staff-9"
        assert clock.now() - row.customer_signed_at.replace(tzinfo=UTC) == timedelta(hours=2)
