"""Step 1: My Page registration, terms, and the emailed 6-digit code."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import mypage
from loanflow.db import SessionFactory
from loanflow.errors import (
    AlreadyRegistered,
    CodeExpired,
    CodeInvalid,
    InvalidTransition,
    NotFound,
    Replay,
    TooManyAttempts,
    ValidationFailed,
)
from loanflow.tables import Applicant, ApplicantStatus, AuditEntry, AuthCode, MailStatus, OutboxMail

from .conftest import FakeClock, Mailbox, snapshot
from .factories import register, registration

EMAIL = "hanako@example.jp"


def _status(engine: Engine, applicant_id: str) -> ApplicantStatus:
    with engine.connect() as connection:
        status = connection.scalar(sa.select(Applicant.status).where(Applicant.id == applicant_id))
    assert status is not None
    return ApplicantStatus(status)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


class TestRegister:
    def test_smoke(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=" Hanako@Example.JP ")
        assert issued.code_expires_at == clock.now().replace(minute=5)
        assert _status(engine, issued.applicant_id) is ApplicantStatus.CODE_PENDING
        with engine.connect() as connection:
            assert connection.scalar(sa.select(Applicant.email)) == EMAIL  # normalised
            code = connection.execute(sa.select(AuthCode)).one()
            assert code.code_hash != ""
            assert len(code.salt) == 32
            actions = connection.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions == ["terms.opened", "mypage.registered", "code.issued"]
        assert mailbox.deliver(db).sent == 1
        code_text = mailbox.code_for(EMAIL)
        body = mailbox.last_body(EMAIL, "【ろうきん】認証コードのご案内")
        assert "山田 花子 様" in body
        assert "2025年04月25日 10:05" in body
        with engine.connect() as connection:
            assert code_text not in str(connection.execute(sa.select(AuthCode)).all())
            assert connection.scalar(sa.select(OutboxMail.secret)) is None  # erased once sent

    def test_duplicate_email_is_told_to_log_in(
        self, db: SessionFactory, engine: Engine, clock: FakeClock
    ) -> None:
        register(db, clock, email=EMAIL)
        terms = mypage.record_terms_opened(db, clock=clock)
        before = snapshot(engine)
        with pytest.raises(AlreadyRegistered, match="log in") as info:
            mypage.register(db, registration(terms.id, email="HANAKO@example.jp"), clock=clock)
        assert info.value.code == "already_registered"
        assert snapshot(engine) == before

    @pytest.mark.parametrize(
        ("terms_state", "expectation"),
        [
            ("opened", nullcontext()),
            ("never_opened", pytest.raises(InvalidTransition, match="opened before")),
            ("already_used", pytest.raises(InvalidTransition, match="opened before")),
            ("other_document", pytest.raises(InvalidTransition, match="opened before")),
        ],
    )
    def test_consent_requires_opened_terms(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        terms_state: str,
        expectation: AbstractContextManager[object],
    ) -> None:
        terms = mypage.record_terms_opened(db, clock=clock)
        terms_id = {
            "opened": terms.id,
            "never_opened": "no-such-event",
            "already_used": terms.id,
            "other_document": mypage.record_terms_opened(db, clock=clock, document="privacy").id,
        }[terms_state]
        if terms_state == "already_used":
            mypage.register(db, registration(terms.id, email="first@example.jp"), clock=clock)
        before = snapshot(engine)
        with expectation:
            mypage.register(db, registration(terms_id), clock=clock)
        if terms_state != "opened":
            assert snapshot(engine) == before

    def test_invalid_form_changes_nothing(
        self, db: SessionFactory, engine: Engine, clock: FakeClock
    ) -> None:
        terms = mypage.record_terms_opened(db, clock=clock)
        before = snapshot(engine)
        with pytest.raises(ValidationFailed) as info:
            mypage.register(db, registration(terms.id, home_phone="0612345678"), clock=clock)
        assert info.value.rules() == {("home_phone", "format")}
        assert snapshot(engine) == before


class TestVerifyRegistrationCode:
    def test_smoke(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        clock.advance(minutes=5)  # the last valid instant
        mypage.verify_registration_code(
            db, issued.applicant_id, mailbox.code_for(EMAIL), clock=clock
        )
        assert _status(engine, issued.applicant_id) is ApplicantStatus.PASSWORD_PENDING

    def test_expired_code(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        clock.advance(minutes=5, seconds=1)
        before = snapshot(engine)
        with pytest.raises(CodeExpired):
            mypage.verify_registration_code(
                db, issued.applicant_id, mailbox.code_for(EMAIL), clock=clock
            )
        assert snapshot(engine) == before

    def test_five_wrong_codes_kill_it(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        code = mailbox.code_for(EMAIL)
        for left in (4, 3, 2, 1):
            with pytest.raises(CodeInvalid) as info:
                mypage.verify_registration_code(db, issued.applicant_id, _wrong(code), clock=clock)
            assert info.value.context["attempts_left"] == left
        with pytest.raises(TooManyAttempts):
            mypage.verify_registration_code(db, issued.applicant_id, _wrong(code), clock=clock)
        before = snapshot(engine)
        with pytest.raises(TooManyAttempts):  # even the right code: it is dead
            mypage.verify_registration_code(db, issued.applicant_id, code, clock=clock)
        assert snapshot(engine) == before
        with engine.connect() as connection:
            actions = connection.scalars(sa.select(AuditEntry.action)).all()
        assert actions.count("code.rejected") == 5
        mypage.reissue_registration_code(db, issued.applicant_id, clock=clock)
        mailbox.deliver(db)
        mypage.verify_registration_code(
            db, issued.applicant_id, mailbox.code_for(EMAIL), clock=clock
        )
        assert _status(engine, issued.applicant_id) is ApplicantStatus.PASSWORD_PENDING

    def test_replayed_code(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        code = mailbox.code_for(EMAIL)
        mypage.verify_registration_code(db, issued.applicant_id, code, clock=clock)
        before = snapshot(engine)
        with pytest.raises(Replay):
            mypage.verify_registration_code(db, issued.applicant_id, code, clock=clock)
        with pytest.raises(InvalidTransition):  # nothing pending any more
            mypage.verify_registration_code(db, issued.applicant_id, _wrong(code), clock=clock)
        assert snapshot(engine) == before

    def test_reissue_invalidates_the_old_code(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        old = mailbox.code_for(EMAIL)
        clock.advance(minutes=4)
        reissued = mypage.reissue_registration_code(db, issued.applicant_id, clock=clock)
        assert reissued.code_expires_at == clock.now().replace(minute=9)
        mailbox.deliver(db)
        new = mailbox.code_for(EMAIL)
        assert len(mailbox.received(EMAIL, "【ろうきん】認証コードのご案内")) == 2
        if old != new:  # one chance in a million that the draw repeats
            with pytest.raises(CodeInvalid):
                mypage.verify_registration_code(db, issued.applicant_id, old, clock=clock)
        clock.advance(minutes=4)  # the old code would have expired; the new one has not
        mypage.verify_registration_code(db, issued.applicant_id, new, clock=clock)
        with engine.connect() as connection:
            rows = connection.execute(sa.select(AuthCode).order_by(AuthCode.id)).all()
        assert rows[0].invalidated_at is not None
        assert rows[0].consumed_at is None
        assert rows[1].consumed_at is not None

    @pytest.mark.parametrize("code", ["12345", "1234567", "12345a", "１２３４５６", ""])
    def test_malformed_code_is_not_counted(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, code: str
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        before = snapshot(engine)
        with pytest.raises(ValidationFailed):
            mypage.verify_registration_code(db, issued.applicant_id, code, clock=clock)
        assert snapshot(engine) == before

    def test_unknown_applicant(self, db: SessionFactory, clock: FakeClock) -> None:
        with pytest.raises(NotFound):
            mypage.verify_registration_code(db, "no-such-applicant", "123456", clock=clock)
        with pytest.raises(NotFound):
            mypage.reissue_registration_code(db, "no-such-applicant", clock=clock)

    def test_reissue_after_the_code_step_is_refused(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        mypage.verify_registration_code(
            db, issued.applicant_id, mailbox.code_for(EMAIL), clock=clock
        )
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            mypage.reissue_registration_code(db, issued.applicant_id, clock=clock)
        assert snapshot(engine) == before
        with engine.connect() as connection:
            assert (
                connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxMail)
                    .where(OutboxMail.status == MailStatus.PENDING)
                )
                == 0
            )


class TestConcurrentTries:
    def test_wrong_codes_in_parallel_are_all_counted(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        """Row locks (PostgreSQL) / BEGIN IMMEDIATE (SQLite): no lost attempt updates."""
        issued = register(db, clock, email=EMAIL)
        mailbox.deliver(db)
        wrong = _wrong(mailbox.code_for(EMAIL))

        def attempt(_: int) -> str:
            try:
                mypage.verify_registration_code(db, issued.applicant_id, wrong, clock=clock)
            except (CodeInvalid, TooManyAttempts) as error:
                return error.code
            return "accepted"

        with ThreadPoolExecutor(max_workers=4) as pool:
            outcomes = list(pool.map(attempt, range(8)))
        assert sorted(outcomes) == ["code_invalid"] * 4 + ["too_many_attempts"] * 4
        with engine.connect() as connection:
            assert connection.scalar(sa.select(AuthCode.attempts)) == 5
            rejected = sa.select(sa.func.count()).where(AuditEntry.action == "code.rejected")
            assert connection.scalar(rejected) == 5
