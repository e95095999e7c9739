"""Typed errors of the loan workflow.

A ``WorkflowError`` means "this step was refused and nothing changed", except where a
class says otherwise (a wrong code or password is counted, because the limit on tries is
itself a rule). Every class carries a stable ``code`` slug; the service maps the classes to
RFC 9457 problem details with the statuses shown::

    WorkflowError                  code                 status  meaning
    ├── InvalidTransition          invalid_transition   409     step out of order for the state
    ├── ValidationFailed           validation_failed    422     field problems (``problems``)
    ├── AlreadyRegistered          already_registered   409     email has a My Page: log in
    ├── NotFound                   not_found            404
    ├── Forbidden                  forbidden            403     another applicant's data
    ├── DocumentRejected           document_rejected    422     a file or shot refused (``reason``)
    │   └── RetakeNeeded           retake_needed        422     the shot's card is not the step's
    ├── DeadlinePassed             deadline_passed      409     e.g. the e-signature cut-off
    ├── CodeError                  code_error                   one-time codes and tokens
    │   ├── CodeExpired            code_expired         410
    │   ├── CodeInvalid            code_invalid         400     wrong code; the try is counted
    │   ├── TooManyAttempts        too_many_attempts    429     the code is dead: reissue
    │   └── Replay                 replay               409     code already used
    └── AuthenticationError        authentication_error         login ID + password
        ├── LoginFailed            login_failed         401     the failure is counted
        └── AccountLocked          account_locked       423     ``locked_until`` in context
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "AccountLocked",
    "AlreadyRegistered",
    "AuthenticationError",
    "CodeError",
    "CodeExpired",
    "CodeInvalid",
    "DeadlinePassed",
    "DocumentRejected",
    "FieldProblem",
    "Forbidden",
    "InvalidTransition",
    "LoginFailed",
    "NotFound",
    "Replay",
    "RetakeNeeded",
    "TooManyAttempts",
    "ValidationFailed",
    "WorkflowError",
]


class WorkflowError(Exception):
    """Root of every error the workflow raises on purpose.

    Args:
        message: A sentence for a person; never contains codes, passwords or tokens.
        **context: Machine-readable details (ids, limits, times), kept in ``context``.
    """

    code: ClassVar[str] = "workflow_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def to_dict(self) -> dict[str, str]:
        """The ``{"code", "message"}`` pair for logs and problem details."""
        return {"code": self.code, "message": self.message}


class InvalidTransition(WorkflowError):
    """The step is not allowed in the current state (e.g. a password before the code)."""

    code = "invalid_transition"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One rule a form field broke: ``field`` names the form field, ``rule`` is a slug."""

    field: str
    rule: str  # e.g. "required", "format", "mismatch", "too_long"
    message: str


class ValidationFailed(WorkflowError):
    """The form broke one or more field rules; all of them are in ``problems``."""

    code = "validation_failed"

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        fields = ", ".join(sorted({p.field for p in problems}))
        super().__init__(f"invalid fields: {fields}", fields=fields)
        self.problems = problems

    def rules(self) -> set[tuple[str, str]]:
        """``{(field, rule), ...}``: what tests and the service usually need."""
        return {(p.field, p.rule) for p in self.problems}


class AlreadyRegistered(WorkflowError):
    """The email already has a My Page; the applicant should log in instead."""

    code = "already_registered"


class NotFound(WorkflowError):
    """No such applicant, application or session."""

    code = "not_found"


class Forbidden(WorkflowError):
    """The object exists but belongs to another applicant."""

    code = "forbidden"


class DocumentRejected(WorkflowError):
    """An uploaded file or eKYC shot was refused; ``reason`` in ``context`` is a stable slug
    (an ``ekyc`` error code such as ``image_too_large``, or ``my_number_back``)."""

    code = "document_rejected"


class RetakeNeeded(DocumentRejected):
    """A card shot did not show the chosen document's side for its step, whole and read
    (``reason``: a lower-case ``ekyc`` reason code such as ``layout_not_recognised``;
    ``shot``; ``observed``): nothing was stored, the applicant shoots it again."""

    code = "retake_needed"


class DeadlinePassed(WorkflowError):
    """The step came after its deadline (``deadline`` in ``context``, timezone-aware)."""

    code = "deadline_passed"


class CodeError(WorkflowError):
    """A one-time code or token was refused."""

    code = "code_error"


class CodeExpired(CodeError):
    """The code's validity period is over; ask for a new one."""

    code = "code_expired"


class CodeInvalid(CodeError):
    """The code does not match; ``attempts_left`` is in ``context``."""

    code = "code_invalid"


class TooManyAttempts(CodeError):
    """The code took too many wrong tries and no longer works, even when right."""

    code = "too_many_attempts"


class Replay(CodeError):
    """The code was already used once."""

    code = "replay"


class AuthenticationError(WorkflowError):
    """Login refused."""

    code = "authentication_error"


class LoginFailed(AuthenticationError):
    """Unknown login ID or wrong password (deliberately not told apart)."""

    code = "login_failed"


class AccountLocked(AuthenticationError):
    """Too many failed logins in a row; ``locked_until`` (UTC) is in ``context``."""

    code = "account_locked"
