"""Pydantic ``...In`` / ``...Out`` models: the HTTP shapes of loanflow's and ekyc's dataclasses.

Inputs bound sizes and types only; the rules (kana, phone formats, password policy) are
loanflow's and come back as its ``validation_failed`` problems, so a rule lives in one
place. Outputs never carry codes, passwords, login IDs or personal numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ekyc.types import Frame, QualityReport
from loanflow.mypage import Registration, TermsOpened
from service.security import Scope

__all__ = [
    "CheckOut",
    "CodeIn",
    "CodeIssuedOut",
    "FieldProblemOut",
    "LiveOut",
    "LoginIn",
    "ModelOut",
    "PasswordIn",
    "ProblemOut",
    "QualityOut",
    "ReadyOut",
    "RegistrationIn",
    "SessionOut",
    "StaffOut",
    "TermsOpenedOut",
]

_NAME = 200  # generous bounds: loanflow enforces the real limits


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1000)


class RegistrationIn(_In):
    """The My Page form (``loanflow.mypage.Registration``)."""

    family_name: str = Field(max_length=_NAME)
    given_name: str = Field(max_length=_NAME)
    email: str = Field(max_length=254)
    email_confirmation: str = Field(max_length=254)
    home_phone: str = Field(max_length=_NAME)
    terms_open_id: str = Field(max_length=_NAME)
    terms_consent: bool
    family_name_kana: str | None = Field(default=None, max_length=_NAME)
    given_name_kana: str | None = Field(default=None, max_length=_NAME)
    birth_date: date | None = None
    postal_code: str | None = Field(default=None, max_length=_NAME)
    address: str | None = Field(default=None, max_length=400)
    mobile_phone: str | None = Field(default=None, max_length=_NAME)

    def to_registration(self) -> Registration:
        """The loanflow form."""
        return Registration(**self.model_dump())


class CodeIn(_In):
    """The 6-digit code from the mail (its format is checked by loanflow)."""

    code: str = Field(max_length=32)


class PasswordIn(_In):
    """The chosen password, twice."""

    password: str = Field(max_length=256)
    password_confirmation: str = Field(max_length=256)


class LoginIn(_In):
    """The system-issued login ID and the password."""

    login_id: str = Field(max_length=64)
    password: str = Field(max_length=256)


class TermsOpenedOut(BaseModel):
    """The receipt the registration form sends back as ``terms_open_id``."""

    terms_open_id: str
    document: str
    opened_at: datetime

    @classmethod
    def of(cls, opened: TermsOpened) -> TermsOpenedOut:
        return cls(terms_open_id=opened.id, document=opened.document, opened_at=opened.opened_at)


class SessionOut(BaseModel):
    """A session's kind and the CSRF token its state changes must send."""

    scope: Scope
    csrf_token: str


class CodeIssuedOut(SessionOut):
    """A code was mailed; it works until ``code_expires_at``."""

    code_expires_at: datetime


class CheckOut(BaseModel):
    """One quality figure against its threshold."""

    value: float
    threshold: float
    rule: Literal["min", "max"]
    passed: bool


class QualityOut(BaseModel):
    """``ekyc.assess_quality``'s report on an upload."""

    passed: bool
    failures: list[str]
    checks: dict[str, CheckOut]
    width: int
    height: int
    format: str

    @classmethod
    def of(cls, frame: Frame, report: QualityReport) -> QualityOut:
        return cls(
            passed=report.passed,
            failures=list(report.failures),
            checks={
                name: CheckOut(
                    value=check.value,
                    threshold=check.threshold,
                    rule=check.rule,
                    passed=check.passed,
                )
                for name, check in report.checks.items()
            },
            width=frame.width,
            height=frame.height,
            format=frame.metadata.source_format,
        )


class LiveOut(BaseModel):
    status: Literal["ok"] = "ok"


class ModelOut(BaseModel):
    id: str
    task: str
    sha256: str


class ReadyOut(BaseModel):
    status: Literal["ready"] = "ready"
    database: Literal["ok"] = "ok"
    models: list[ModelOut]


class StaffOut(BaseModel):
    staff_id: str


class FieldProblemOut(BaseModel):
    field: str
    rule: str
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None
    code: str
    request_id: str | None
    errors: list[FieldProblemOut] | None = None
