"""Builders for forms and applicants in given states."""

from __future__ import annotations

import dataclasses
from typing import Any

from argon2 import PasswordHasher

from loanflow import accounts, mypage
from loanflow.db import SessionFactory
from loanflow.mypage import Registration

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
