"""The loan application workflow of the bank's smartphone guide (My Page, applications,
documents, consents, eKYC sessions, review, e-signature), on a real database.

Depends on ``ekyc``; never imported by it.
"""

from loanflow.accounts import LoggedIn, login, set_password
from loanflow.clock import JST, Clock, SystemClock
from loanflow.db import create_engine, migrate, session_factory, transaction
from loanflow.errors import (
    AccountLocked,
    AlreadyRegistered,
    CodeExpired,
    CodeInvalid,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    LoginFailed,
    NotFound,
    Replay,
    TooManyAttempts,
    ValidationFailed,
    WorkflowError,
)
from loanflow.mail import deliver_outbox
from loanflow.mypage import (
    Registration,
    record_terms_opened,
    register,
    reissue_registration_code,
    verify_registration_code,
)

__all__ = [
    "JST",
    "AccountLocked",
    "AlreadyRegistered",
    "Clock",
    "CodeExpired",
    "CodeInvalid",
    "FieldProblem",
    "Forbidden",
    "InvalidTransition",
    "LoggedIn",
    "LoginFailed",
    "NotFound",
    "Registration",
    "Replay",
    "SystemClock",
    "TooManyAttempts",
    "ValidationFailed",
    "WorkflowError",
    "create_engine",
    "deliver_outbox",
    "login",
    "migrate",
    "record_terms_opened",
    "register",
    "reissue_registration_code",
    "session_factory",
    "set_password",
    "transaction",
    "verify_registration_code",
]
