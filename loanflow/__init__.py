"""The loan application workflow of the bank's smartphone guide (My Page, applications,
documents, consents, eKYC sessions, review, e-signature and contract, messages), on a
real database.

Depends on ``ekyc``; never imported by it.
"""

from loanflow import application_tables  # registers the application tables on Base
from loanflow.accounts import LoggedIn, login, set_password
from loanflow.applications import (
    confirm,
    copy_application,
    create_application,
    save_basic,
    save_detailed,
    start_full_application,
    submit,
    withdraw,
)
from loanflow.clock import JST, Clock, SystemClock
from loanflow.consents import give_consent, open_document
from loanflow.db import create_engine, migrate, session_factory, transaction
from loanflow.documents import add_document, read_file
from loanflow.ekyc_session import add_shot, choose_document, finish, open_session, reissue_url
from loanflow.errors import (
    AccountLocked,
    AlreadyRegistered,
    CodeExpired,
    CodeInvalid,
    DeadlinePassed,
    DocumentRejected,
    FieldProblem,
    Forbidden,
    InvalidTransition,
    LoginFailed,
    NotFound,
    Replay,
    RetakeNeeded,
    TooManyAttempts,
    ValidationFailed,
    WorkflowError,
)
from loanflow.esign import accept_contract_document, bank_sign, reissue_esign_code, sign
from loanflow.forms import ApplicationKind, BasicInfo, DetailedInfo
from loanflow.mail import deliver_outbox
from loanflow.messages import list_messages, send_bank_message, send_message
from loanflow.mypage import (
    Registration,
    record_terms_opened,
    register,
    reissue_registration_code,
    verify_registration_code,
)
from loanflow.mypage_views import application_detail, list_applications
from loanflow.review import ReviewResult, set_review_result, start_review
from loanflow.verifier import Decision, DecodeCheckVerifier, Verifier, VerifierOutcome

__all__ = [
    "JST",
    "AccountLocked",
    "AlreadyRegistered",
    "ApplicationKind",
    "BasicInfo",
    "Clock",
    "CodeExpired",
    "CodeInvalid",
    "DeadlinePassed",
    "Decision",
    "DecodeCheckVerifier",
    "DetailedInfo",
    "DocumentRejected",
    "FieldProblem",
    "Forbidden",
    "InvalidTransition",
    "LoggedIn",
    "LoginFailed",
    "NotFound",
    "Registration",
    "Replay",
    "RetakeNeeded",
    "ReviewResult",
    "SystemClock",
    "TooManyAttempts",
    "ValidationFailed",
    "Verifier",
    "VerifierOutcome",
    "WorkflowError",
    "accept_contract_document",
    "add_document",
    "add_shot",
    "application_detail",
    "application_tables",
    "bank_sign",
    "choose_document",
    "confirm",
    "copy_application",
    "create_application",
    "create_engine",
    "deliver_outbox",
    "finish",
    "give_consent",
    "list_applications",
    "list_messages",
    "login",
    "migrate",
    "open_document",
    "open_session",
    "read_file",
    "record_terms_opened",
    "register",
    "reissue_esign_code",
    "reissue_registration_code",
    "reissue_url",
    "save_basic",
    "save_detailed",
    "send_bank_message",
    "send_message",
    "session_factory",
    "set_password",
    "set_review_result",
    "sign",
    "start_full_application",
    "start_review",
    "submit",
    "transaction",
    "verify_registration_code",
    "withdraw",
]
