"""Step 7: the application list and detail, and the messages with the bank."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from loanflow import applications, messages, mypage_views
from loanflow.application_tables import ApplicationStatus, FileKind, MessageSender
from loanflow.db import SessionFactory
from loanflow.errors import Forbidden, NotFound, ValidationFailed
from loanflow.forms import ApplicationKind
from loanflow.products import ProductCode

from .conftest import FakeClock, Mailbox, snapshot
from .factories import activate, approved, ready_to_submit

EMAIL = "hanako@example.jp"


@pytest.fixture
def applicant(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> str:
    applicant_id, _ = activate(db, clock, mailbox, EMAIL)
    return applicant_id


@pytest.fixture
def other(db: SessionFactory, clock: FakeClock, mailbox: Mailbox) -> str:
    applicant_id, _ = activate(db, clock, mailbox, "other@example.jp")
    return applicant_id


class TestListAndDetail:
    def test_list_newest_first_with_labels(
        self, db: SessionFactory, clock: FakeClock, applicant: str, other: str
    ) -> None:
        first = applications.create_application(
            db,
            applicant,
            kind=ApplicationKind.PROVISIONAL,
            product_code=ProductCode.FREE,
            clock=clock,
        )
        clock.advance(minutes=1)
        second = ready_to_submit(db, clock, applicant)
        listed = mypage_views.list_applications(db, applicant)
        assert [a.id for a in listed] == [second, first]
        assert listed[0].labels.application == "入力中（確認済）"
        assert (listed[1].kind_name, listed[1].product_name) == ("仮審査申込", "フリーローン")
        assert mypage_views.list_applications(db, other) == ()

    def test_detail_of_an_approved_application(
        self, db: SessionFactory, clock: FakeClock, applicant: str
    ) -> None:
        note = "ご融資日の前営業日12時までにご契約ください。"
        application = approved(db, clock, applicant, bank_note=note)
        detail = mypage_views.application_detail(db, applicant, application)
        assert detail.summary.status is ApplicationStatus.APPROVED
        assert detail.summary.labels.contract == "お客様契約実施中"
        assert detail.bank_note == note
        assert detail.basic is not None
        assert detail.detailed is not None
        assert [f.kind for f in detail.files] == [FileKind.UPLOAD]
        assert {c.document for c in detail.consents} == {
            "personal_info",
            "credit_bureau",
            "guarantee",
            "electronic_delivery",
        }
        assert detail.schedule is not None
        assert detail.schedule.principal_yen == 2_000_000
        assert detail.schedule.first_due == date(2025, 6, 10)
        assert detail.esign_deadline is not None

    def test_another_applicants_detail_is_forbidden(
        self, db: SessionFactory, clock: FakeClock, applicant: str, other: str
    ) -> None:
        application = ready_to_submit(db, clock, applicant)
        with pytest.raises(Forbidden):
            mypage_views.application_detail(db, other, application)
        with pytest.raises(NotFound):
            mypage_views.application_detail(db, applicant, "no-such-application")


class TestMessages:
    def test_thread_both_ways(self, db: SessionFactory, clock: FakeClock, applicant: str) -> None:
        application = ready_to_submit(db, clock, applicant)
        messages.send_message(
            db,
            applicant,
            application,
            "融資日を変更できますか。\r\nよろしくお願いします。",
            clock=clock,
        )
        clock.advance(hours=1)
        messages.send_bank_message(db, application, "staff-1", "承知しました。", clock=clock)
        thread = messages.list_messages(db, applicant, application)
        assert [(m.sender, m.body) for m in thread] == [
            (MessageSender.APPLICANT, "融資日を変更できますか。\nよろしくお願いします。"),
            (MessageSender.BANK, "承知しました。"),
        ]

    @pytest.mark.parametrize(
        ("body", "rule"),
        [("   ", "required"), ("x" * (messages.MESSAGE_MAX + 1), "too_long"), ("a\x00b", "format")],
    )
    def test_refused_bodies_change_nothing(
        self,
        db: SessionFactory,
        engine: Engine,
        clock: FakeClock,
        applicant: str,
        body: str,
        rule: str,
    ) -> None:
        application = ready_to_submit(db, clock, applicant)
        before = snapshot(engine)
        with pytest.raises(ValidationFailed) as raised:
            messages.send_message(db, applicant, application, body, clock=clock)
        assert raised.value.rules() == {("body", rule)}
        assert snapshot(engine) == before

    def test_ownership_is_enforced(
        self, db: SessionFactory, engine: Engine, clock: FakeClock, applicant: str, other: str
    ) -> None:
        application = ready_to_submit(db, clock, applicant)
        before = snapshot(engine)
        with pytest.raises(Forbidden):
            messages.send_message(db, other, application, "こんにちは", clock=clock)
        with pytest.raises(Forbidden):
            messages.list_messages(db, other, application)
        with pytest.raises(NotFound):
            messages.send_bank_message(db, "no-such-application", "staff-1", "x", clock=clock)
        assert snapshot(engine) == before
