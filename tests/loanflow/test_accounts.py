"""Step 2: password, system-issued login ID, login and lockout."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import accounts, mypage
from loanflow.db import SessionFactory
from loanflow.errors import (
    AccountLocked,
    InvalidTransition,
    LoginFailed,
    NotFound,
    ValidationFailed,
)
from loanflow.tables import ApplicantStatus, AuditEntry, Credential

from .conftest import FakeClock, Mailbox, snapshot
from .factories import FAST_HASHER, PASSWORD, activate, register

EMAIL = "taro@example.jp"


def _code_verified(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> str:
    issued = register(db, clock, email=EMAIL)
    mailbox.deliver(db)
    mypage.verify_registration_code(db, issued.applicant_id, mailbox.code_for(EMAIL), clock=clock)
    return issued.applicant_id


class TestSetPassword:
    @pytest.mark.parametrize(
        ("password", "confirmation", "expectation"),
        [
            (PASSWORD, PASSWORD, nullcontext()),
            ("short1!", "short1!", pytest.raises(ValidationFailed, match="password")),
            (
                PASSWORD,
                PASSWORD + "x",
                pytest.raises(ValidationFailed, match="password_confirmation"),
            ),
            ("NoDigits!!", "NoDigits!!", pytest.raises(ValidationFailed)),
        ],
    )
    def test_rules(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        mailbox: Mailbox,
        password: str,
        confirmation: str,
        expectation: AbstractContextManager[object],
    ) -> None:
        applicant_id = _code_verified(db, clock, mailbox)
        before = snapshot(engine)
        with expectation:
            accounts.set_password(
                db, applicant_id, password, confirmation, clock=clock, hasher=FAST_HASHER
            )
        if not isinstance(expectation, nullcontext):
            assert snapshot(engine) == before

    def test_issues_login_id_by_mail(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant_id = _code_verified(db, clock, mailbox)
        accounts.set_password(db, applicant_id, PASSWORD, PASSWORD, clock=clock, hasher=FAST_HASHER)
        mailbox.deliver(db)
        login_id = mailbox.login_id_for(EMAIL)
        assert len(login_id) == accounts.LOGIN_ID_LENGTH
        assert set(login_id) <= set(accounts.LOGIN_ID_ALPHABET)
        with engine.connect() as connection:
            credential = connection.execute(sa.select(Credential)).one()
        assert credential.login_id == login_id
        assert credential.password_hash.startswith("$argon2id$")
        assert PASSWORD not in credential.password_hash

    def test_before_the_code_is_refused(
        self, db: SessionFactory, engine: Engine, clock: FakeClock
    ) -> None:
        issued = register(db, clock, email=EMAIL)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            accounts.set_password(
                db, issued.applicant_id, PASSWORD, PASSWORD, clock=clock, hasher=FAST_HASHER
            )
        assert snapshot(engine) == before

    def test_only_once(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant_id, _ = activate(db, clock, mailbox, EMAIL)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):  # the login ID cannot be re-drawn this way
            accounts.set_password(
                db, applicant_id, "Other2025!", "Other2025!", clock=clock, hasher=FAST_HASHER
            )
        assert snapshot(engine) == before

    def test_unknown_applicant(self, db: SessionFactory, clock: FakeClock) -> None:
        with pytest.raises(NotFound):
            accounts.set_password(db, "nobody", PASSWORD, PASSWORD, clock=clock, hasher=FAST_HASHER)

    def test_login_ids_are_random(self) -> None:
        assert len({accounts.new_login_id() for _ in range(200)}) == 200


class TestLogin:
    def test_smoke(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant_id, login_id = activate(db, clock, mailbox, EMAIL)
        result = accounts.login(
            db, f" {login_id.lower()} ", PASSWORD, clock=clock, hasher=FAST_HASHER
        )
        assert result.applicant_id == applicant_id
        with engine.connect() as connection:
            assert (
                connection.scalar(
                    sa.select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)
                )
                == "login.succeeded"
            )

    def test_unknown_login_id_changes_nothing(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        activate(db, clock, mailbox, EMAIL)
        before = snapshot(engine)
        with pytest.raises(LoginFailed) as info:
            accounts.login(db, "ZZZZZZZZZZ", PASSWORD, clock=clock, hasher=FAST_HASHER)
        assert (
            info.value.message == "the login ID or the password is wrong"
        )  # same as wrong password
        assert snapshot(engine) == before

    def test_lockout_after_five_failures_and_unlock_after_30_minutes(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant_id, login_id = activate(db, clock, mailbox, EMAIL)
        for _ in range(4):
            with pytest.raises(LoginFailed):
                accounts.login(db, login_id, "Wrong2025!", clock=clock, hasher=FAST_HASHER)
        with pytest.raises(AccountLocked) as info:
            accounts.login(db, login_id, "Wrong2025!", clock=clock, hasher=FAST_HASHER)
        locked_at = clock.now()
        assert info.value.context["locked_until"] == locked_at.replace(minute=30)
        clock.advance(minutes=29, seconds=59)
        before = snapshot(engine)
        with pytest.raises(AccountLocked):  # the right password does not help while locked
            accounts.login(db, login_id, PASSWORD, clock=clock, hasher=FAST_HASHER)
        assert snapshot(engine) == before
        clock.advance(seconds=1)
        assert (
            accounts.login(db, login_id, PASSWORD, clock=clock, hasher=FAST_HASHER).applicant_id
            == applicant_id
        )
        with engine.connect() as connection:
            credential = connection.execute(sa.select(Credential)).one()
            actions = connection.scalars(sa.select(AuditEntry.action)).all()
        assert credential.failed_logins == 0
        assert credential.locked_until is None
        assert actions.count("login.failed") == 5
        assert actions.count("account.locked") == 1

    def test_success_resets_the_failure_count(
        self, db: SessionFactory, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        _, login_id = activate(db, clock, mailbox, EMAIL)
        for _ in range(2):
            for _ in range(4):
                with pytest.raises(LoginFailed):
                    accounts.login(db, login_id, "Wrong2025!", clock=clock, hasher=FAST_HASHER)
            accounts.login(db, login_id, PASSWORD, clock=clock, hasher=FAST_HASHER)

    def test_rehashes_with_the_callers_parameters(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        _, login_id = activate(db, clock, mailbox, EMAIL)
        accounts.login(db, login_id, PASSWORD, clock=clock)  # production parameters
        with engine.connect() as connection:
            stored = connection.scalar(sa.select(Credential.password_hash))
        assert stored is not None
        assert not accounts.DEFAULT_HASHER.check_needs_rehash(stored)

    def test_status_is_active(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
    ) -> None:
        applicant_id, _ = activate(db, clock, mailbox, EMAIL)
        with engine.connect() as connection:
            status = connection.scalar(sa.text("SELECT status FROM applicants"))
        assert status == ApplicantStatus.ACTIVE.value
        assert applicant_id
