"""Steps 3 and 5: applications, consents and submission, on a real database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from loanflow import applications, consents, documents, ekyc_session
from loanflow.application_tables import Application, ApplicationStatus, Consent, EkycSession
from loanflow.db import SessionFactory
from loanflow.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from loanflow.forms import ApplicationKind
from loanflow.products import ProductCode
from loanflow.tables import AuditEntry

from .conftest import FakeClock, Mailbox, snapshot
from .factories import (
    activate,
    basic_info,
    consent_all,
    detailed_info,
    filled,
    image_bytes,
    ready_to_submit,
    register,
)

REPO = Path(__file__).resolve().parents[2]
EMAIL = "hanako@example.jp"
RECEIVED = "【ろうきん】ローン申込受付のお知らせ"
EKYC_MAIL = "【ろうきん】「本人確認」手続きのお願い"
FULL, PROVISIONAL = ApplicationKind.FULL, ApplicationKind.PROVISIONAL


@pytest.fixture
def applicant(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> str:
    applicant_id, _ = activate(db, clock, mailbox, EMAIL)
    return applicant_id


def _status(engine: Engine, application_id: str) -> ApplicationStatus:
    with engine.connect() as connection:
        status = connection.scalar(
            sa.select(Application.status).where(Application.id == application_id)
        )
    assert status is not None
    return ApplicationStatus(status)


def ekyc_token(mailbox: Mailbox, to_addr: str = EMAIL) -> str:
    body = mailbox.last_body(to_addr, EKYC_MAIL)
    match = re.search(
        r"本人確認URL：https://loan\.rokin\.example/ekyc/([A-Za-z0-9_-]{43})$", body, re.M
    )
    assert match, body
    return match.group(1)


class TestCreate:
    def test_needs_a_finished_my_page(
        self, db: SessionFactory, engine: Engine, clock: FakeClock
    ) -> None:
        pending = register(db, clock)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition, match="registration"):
            applications.create_application(
                db, pending.applicant_id, kind=FULL, product_code=ProductCode.CAR, clock=clock
            )
        with pytest.raises(NotFound):
            applications.create_application(
                db, "nobody", kind=FULL, product_code=ProductCode.CAR, clock=clock
            )
        assert snapshot(engine) == before

    def test_detailed_needs_basic_first(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = applications.create_application(
            db, applicant, kind=FULL, product_code=ProductCode.CAR, clock=clock
        )
        before = snapshot(engine)
        with pytest.raises(InvalidTransition, match="basic info first"):
            applications.save_detailed(db, applicant, application_id, detailed_info(), clock=clock)
        with pytest.raises(ValidationFailed) as info:
            applications.save_basic(
                db, applicant, application_id, basic_info(union_member=True), clock=clock
            )
        assert info.value.rules() == {("union_name", "required")}
        assert snapshot(engine) == before


class TestConfirmAndConsent:
    def test_edit_after_confirmation_needs_consents_again(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant)
        applications.save_basic(
            db, applicant, application_id, basic_info(annual_income_10k_yen=500), clock=clock
        )
        assert _status(engine, application_id) is ApplicationStatus.DRAFT
        with pytest.raises(InvalidTransition):  # not confirmed any more
            applications.submit(db, applicant, application_id, clock=clock)
        revision = applications.confirm(db, applicant, application_id, clock=clock)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition, match="consents are missing") as info:
            applications.submit(db, applicant, application_id, clock=clock)
        assert len(info.value.context["missing"]) == 4
        assert snapshot(engine) == before
        consent_all(db, clock, applicant, application_id)
        applications.submit(db, applicant, application_id, clock=clock)
        with engine.connect() as connection:
            revisions = connection.scalars(sa.select(Consent.revision)).all()
        assert sorted(set(revisions)) == [revision - 1, revision]  # history kept

    @pytest.mark.parametrize("case", ["never_opened", "other_document", "reused", "draft"])
    def test_consent_needs_an_opened_document_on_the_confirmation_screen(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str, case: str
    ) -> None:
        application_id = filled(db, clock, applicant)
        if case != "draft":
            applications.confirm(db, applicant, application_id, clock=clock)
        opened = consents.open_document(db, applicant, application_id, "guarantee", clock=clock)
        open_id = "no-such-open" if case == "never_opened" else opened.id
        document = "personal_info" if case == "other_document" else "guarantee"
        if case == "reused":
            consents.give_consent(
                db, applicant, application_id, "guarantee", opened.id, clock=clock
            )
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            consents.give_consent(db, applicant, application_id, document, open_id, clock=clock)
        assert snapshot(engine) == before

    def test_confirm_rechecks_the_loan_date(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = filled(db, clock, applicant)
        clock.advance(days=5)  # 4/30: the earliest loan date is now 5/13, after 5/12
        before = snapshot(engine)
        with pytest.raises(ValidationFailed) as info:
            applications.confirm(db, applicant, application_id, clock=clock)
        assert info.value.rules() == {("desired_loan_date", "too_early")}
        assert snapshot(engine) == before


class TestSubmit:
    def test_full_application_mails_the_receipt_and_the_ekyc_url(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant)
        submitted = applications.submit(db, applicant, application_id, clock=clock)
        assert submitted.ekyc is not None
        assert submitted.ekyc.expires_at == clock.now().replace(hour=4)  # 3 hours
        assert mailbox.deliver(db, clock=clock).sent == 2
        receipt = mailbox.last_body(EMAIL, RECEIVED)
        assert "マイカーローン（本申込）" in receipt
        assert application_id in receipt
        assert "2025年04月25日 13:00（発行から3時間）" in mailbox.last_body(EMAIL, EKYC_MAIL)
        token = ekyc_token(mailbox)
        view = ekyc_session.open_session(db, token, clock=clock)
        assert view.application_id == application_id
        with engine.connect() as connection:
            stored = str(connection.execute(sa.select(EkycSession)).all())
            actions = connection.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.subject_id == application_id)
            ).all()
        assert token not in stored  # only its sha256
        assert actions[-2:] == ["application.submitted", "ekyc.url_issued"]
        assert _status(engine, application_id) is ApplicationStatus.SUBMITTED

    def test_provisional_application_needs_no_ekyc(
        self, db: SessionFactory, clock: FakeClock, mailbox: Mailbox, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant, PROVISIONAL)
        assert applications.submit(db, applicant, application_id, clock=clock).ekyc is None
        mailbox.deliver(db)
        assert "（仮審査申込）" in mailbox.last_body(EMAIL, RECEIVED)
        assert mailbox.received(EMAIL, EKYC_MAIL) == []

    def test_full_application_needs_a_document(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = filled(db, clock, applicant)
        applications.confirm(db, applicant, application_id, clock=clock)
        consent_all(db, clock, applicant, application_id)
        before = snapshot(engine)
        with pytest.raises(ValidationFailed) as info:
            applications.submit(db, applicant, application_id, clock=clock)
        assert info.value.rules() == {("documents", "required")}
        assert snapshot(engine) == before

    def test_submitted_application_cannot_be_edited_or_resubmitted(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant)
        applications.submit(db, applicant, application_id, clock=clock)
        before = snapshot(engine)
        with pytest.raises(InvalidTransition):
            applications.submit(db, applicant, application_id, clock=clock)
        with pytest.raises(InvalidTransition):
            applications.save_basic(db, applicant, application_id, basic_info(), clock=clock)
        assert snapshot(engine) == before


def _steps(application_id: str, clock: FakeClock) -> dict[str, Callable[[Any, str], object]]:
    return {
        "save_basic": lambda db, who: applications.save_basic(
            db, who, application_id, basic_info(), clock=clock
        ),
        "confirm": lambda db, who: applications.confirm(db, who, application_id, clock=clock),
        "open_document": lambda db, who: consents.open_document(
            db, who, application_id, "guarantee", clock=clock
        ),
        "add_document": lambda db, who: documents.add_document(
            db, who, application_id, "x.png", image_bytes("PNG"), clock=clock
        ),
        "submit": lambda db, who: applications.submit(db, who, application_id, clock=clock),
        "withdraw": lambda db, who: applications.withdraw(
            db, who, application_id, "他行で借りるため", clock=clock
        ),
        "copy": lambda db, who: applications.copy_application(db, who, application_id, clock=clock),
        "reissue_ekyc_url": lambda db, who: ekyc_session.reissue_url(
            db, who, application_id, clock=clock
        ),
    }


def test_another_applicants_application_is_forbidden(
    db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox
) -> None:
    owner, _ = activate(db, clock, mailbox, "owner@example.jp")
    intruder, _ = activate(db, clock, mailbox, "intruder@example.jp")
    application_id = filled(db, clock, owner)
    before = snapshot(engine)
    for name, step in _steps(application_id, clock).items():
        with pytest.raises(Forbidden):
            step(db, intruder)
        with pytest.raises(NotFound):
            _steps("no-such-application", clock)[name](db, owner)
    assert snapshot(engine) == before


class TestWithdrawAndCopy:
    def test_withdraw_needs_a_reason_and_kills_the_ekyc_url(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, mailbox: Mailbox, applicant: str
    ) -> None:
        application_id = ready_to_submit(db, clock, applicant)
        applications.submit(db, applicant, application_id, clock=clock)
        mailbox.deliver(db)
        before = snapshot(engine)
        with pytest.raises(ValidationFailed):
            applications.withdraw(db, applicant, application_id, "  ", clock=clock)
        assert snapshot(engine) == before
        applications.withdraw(db, applicant, application_id, "他行で借りるため", clock=clock)
        assert _status(engine, application_id) is ApplicationStatus.WITHDRAWN
        with pytest.raises(InvalidTransition):
            ekyc_session.open_session(db, ekyc_token(mailbox), clock=clock)
        with pytest.raises(InvalidTransition):
            applications.withdraw(db, applicant, application_id, "二度目", clock=clock)

    def test_copy_starts_a_new_draft_with_the_same_answers(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
    ) -> None:
        source = ready_to_submit(db, clock, applicant)
        applications.withdraw(db, applicant, source, "金額を見直すため", clock=clock)
        copy = applications.copy_application(db, applicant, source, clock=clock)
        with engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(sa.select(Application)).all()}
        assert rows[copy].status == "draft"
        assert rows[copy].copied_from_id == source
        assert rows[copy].basic == rows[source].basic
        assert rows[copy].detailed == rows[source].detailed
        applications.confirm(db, applicant, copy, clock=clock)  # the answers still hold

    def test_full_application_only_after_an_approved_prescreening(
        self, db: SessionFactory, clock: FakeClock, applicant: str
    ) -> None:
        prescreen = ready_to_submit(db, clock, applicant, PROVISIONAL)
        with pytest.raises(InvalidTransition, match="not approved"):
            applications.start_full_application(db, applicant, prescreen, clock=clock)


KILL_MID_SUBMISSION = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime
    from loanflow import applications, db, ekyc_session

    class FixedClock:
        def now(self):
            return datetime.fromisoformat(sys.argv[4])

    real_issue = ekyc_session.issue_url

    def killed(session, application, **kwargs):
        real_issue(session, application, **kwargs)
        session.flush()  # status, audit, both mails and the URL written, not committed
        os.kill(os.getpid(), signal.SIGKILL)

    applications.ekyc_session.issue_url = killed
    engine = db.create_engine(sys.argv[1])
    applications.submit(db.session_factory(engine), sys.argv[2], sys.argv[3], clock=FixedClock())
    """
)


def test_killed_mid_submission_leaves_the_old_state(
    db_url: str, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str
) -> None:
    application_id = ready_to_submit(db, clock, applicant)
    before = snapshot(engine)
    engine.dispose()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_MID_SUBMISSION,
            db_url,
            applicant,
            application_id,
            clock.now().isoformat(),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert snapshot(engine) == before  # still confirmed, no mail, no URL
    applications.submit(db, applicant, application_id, clock=clock)  # the old state works
    assert _status(engine, application_id) is ApplicationStatus.SUBMITTED
