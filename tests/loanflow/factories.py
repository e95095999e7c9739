"""Builders for forms, images, and applicants and applications in given states."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from PIL import Image

from loanflow import accounts, applications, consents, documents, esign, mypage, review
from loanflow.application_tables import Application, EkycStatus
from loanflow.db import SessionFactory, transaction
from loanflow.forms import (
    AccountType,
    ApplicationKind,
    BasicInfo,
    DetailedInfo,
    FundItem,
    Housing,
    LoanType,
    OtherLoan,
    RepaymentMethod,
    TransferAccount,
)
from loanflow.mypage import Registration
from loanflow.products import FundPurpose, ProductCode

# Production argon2 costs ~0.3 s per hash here; the workflow tests use a cheap one
# (test_scenario.py keeps the default).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "Rokin2025!"  # noqa: S105 (a test password)


def registration(terms_open_id: str = "not-opened", **overrides: Any) -> Registration:
    """A valid My Page form; override any field."""
    form = Registration(
        family_name="山田",
        given_name="花子",
        email="hanako@example.jp",
        email_confirmation="hanako@example.jp",
        home_phone="06-1234-5678",
        terms_open_id=terms_open_id,
        terms_consent=True,
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
    )
    if "email" in overrides and "email_confirmation" not in overrides:
        overrides["email_confirmation"] = overrides["email"]
    return dataclasses.replace(form, **overrides)


def register(db: SessionFactory, clock: Any, **overrides: Any) -> mypage.CodeIssued:
    """Open the terms and register: the applicant waits for the emailed code."""
    terms = mypage.record_terms_opened(db, clock=clock)
    return mypage.register(db, registration(terms.id, **overrides), clock=clock)


def activate(db: SessionFactory, clock: Any, mailbox: Any, email: str) -> tuple[str, str]:
    """Register, verify the mailed code, set ``PASSWORD``; returns (applicant id, login ID)."""
    issued = register(db, clock, email=email)
    mailbox.deliver(db)
    mypage.verify_registration_code(db, issued.applicant_id, mailbox.code_for(email), clock=clock)
    accounts.set_password(
        db, issued.applicant_id, PASSWORD, PASSWORD, clock=clock, hasher=FAST_HASHER
    )
    mailbox.deliver(db)
    return issued.applicant_id, mailbox.login_id_for(email)


# ---------------------------------------------------------------- application forms

LOAN_DATE = date(2025, 5, 12)  # a Monday; the clock fixture's earliest loan date is 5/9


def basic_info(**overrides: Any) -> BasicInfo:
    """A valid 基本情報 with no conditional field triggered; override any field."""
    info = BasicInfo(
        union_member=False,
        housing=Housing.OWNED,
        residence_years=5,
        residence_months=2,
        employer="株式会社ろうきん商事",
        employment_years=8,
        employment_months=3,
        annual_income_10k_yen=450,
    )
    return dataclasses.replace(info, **overrides)


def other_loan(**overrides: Any) -> OtherLoan:
    loan = OtherLoan(
        loan_type=LoanType.CAR,
        lender="ABC信販",
        contract_year=2022,
        contract_month=4,
        initial_amount_10k_yen=150,
        balance_10k_yen=60,
        annual_repayment_10k_yen=36,
    )
    return dataclasses.replace(loan, **overrides)


def transfer_account(**overrides: Any) -> TransferAccount:
    account = TransferAccount(
        payee_name="ろうきん自動車株式会社",
        payee_kana="ロウキンジドウシャ",
        bank_name="みらい銀行",
        branch_name="梅田支店",
        account_type=AccountType.ORDINARY,
        account_number="1234567",
        amount_yen=2_000_000,
    )
    return dataclasses.replace(account, **overrides)


def detailed_info(kind: ApplicationKind = ApplicationKind.FULL, **overrides: Any) -> DetailedInfo:
    """A valid マイカーローン 詳細情報 (transfers only on a full application)."""
    full = kind is ApplicationKind.FULL
    info = DetailedInfo(
        desired_loan_date=LOAN_DATE,
        amount_10k_yen=200,
        term_years=5,
        term_months=0,
        repayment_method=RepaymentMethod.MONTHLY,
        payment_day=10,
        fund_purpose=FundPurpose.CAR,
        fund_items=(FundItem("車両本体価格", 230),),
        self_funding_10k_yen=30,
        transfer_accounts=(transfer_account(),) if full else (),
        transfer_consent=full,
    )
    return dataclasses.replace(info, **overrides)


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    """A small real image file (noise, so no two seeds give the same bytes)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


# ---------------------------------------------------------------- applications in given states


def filled(
    db: SessionFactory,
    clock: Any,
    applicant_id: str,
    kind: ApplicationKind = ApplicationKind.FULL,
    **detailed: Any,
) -> str:
    """A draft マイカーローン application with both forms saved."""
    application_id = applications.create_application(
        db, applicant_id, kind=kind, product_code=ProductCode.CAR, clock=clock
    )
    applications.save_basic(db, applicant_id, application_id, basic_info(), clock=clock)
    applications.save_detailed(
        db, applicant_id, application_id, detailed_info(kind, **detailed), clock=clock
    )
    return application_id


def consent_all(db: SessionFactory, clock: Any, applicant_id: str, application_id: str) -> None:
    """Open and accept every consent the application asks for (it must be confirmed)."""
    with transaction(db) as session:
        kind = session.get_one(Application, application_id).kind
    for document in consents.APPLICATION_CONSENTS[kind]:
        opened = consents.open_document(
            db, applicant_id, application_id, document.slug, clock=clock
        )
        consents.give_consent(
            db, applicant_id, application_id, document.slug, opened.id, clock=clock
        )


def ready_to_submit(
    db: SessionFactory,
    clock: Any,
    applicant_id: str,
    kind: ApplicationKind = ApplicationKind.FULL,
) -> str:
    """Filled, with a document (full), confirmed, every consent given."""
    application_id = filled(db, clock, applicant_id, kind)
    if kind is ApplicationKind.FULL:
        documents.add_document(
            db, applicant_id, application_id, "源泉徴収票.jpg", image_bytes(), clock=clock
        )
    applications.confirm(db, applicant_id, application_id, clock=clock)
    consent_all(db, clock, applicant_id, application_id)
    return application_id


def approved(
    db: SessionFactory, clock: Any, applicant_id: str, bank_note: str | None = None
) -> str:
    """A full application approved by the bank (e-signature open, signing code mailed).

    The identity check is marked accepted directly: ``test_scenario.py`` walks the real one.
    """
    application_id = ready_to_submit(db, clock, applicant_id)
    applications.submit(db, applicant_id, application_id, clock=clock)
    with transaction(db) as session:
        session.get_one(Application, application_id).ekyc_status = EkycStatus.ACCEPTED
    review.start_review(db, application_id, "staff-1", clock=clock)
    review.set_review_result(
        db,
        application_id,
        "staff-1",
        review.ReviewResult.APPROVED,
        clock=clock,
        bank_note=bank_note,
    )
    return application_id


def accept_contract(db: SessionFactory, clock: Any, applicant_id: str, application_id: str) -> None:
    """Open and accept every contract document (the e-signature must be open)."""
    for document in consents.CONTRACT_DOCUMENTS:
        opened = consents.open_document(
            db, applicant_id, application_id, document.slug, clock=clock
        )
        esign.accept_contract_document(
            db, applicant_id, application_id, document.slug, opened.id, clock=clock
        )
