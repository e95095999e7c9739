"""Errors as RFC 9457 problem details: one table from class to status, one handler per root.

The libraries raise typed errors with stable ``code`` slugs and know no HTTP; this module
is where a class becomes a status. ``status_for`` walks the class's MRO, so a subclass
added later gets its parent's status until it gets a row of its own.

A problem body::

    {"type": "urn:ekyc:problem:code_expired", "title": "Code expired", "status": 410,
     "detail": "the code has expired: ask for a new code", "instance": "/v1/...",
     "code": "code_expired", "request_id": "..."}

plus ``errors`` (field problems) for validation errors and whitelisted context values
(``attempts_left``, ``locked_until``, limits) that a client can act on. Context never
reaches the client wholesale: it may hold paths or ids meant for logs.

The service's own errors::

    ServiceError            service_error       500
    ├── NotAuthenticated    not_authenticated   401  no session / token, or an expired one
    ├── CsrfFailed          csrf_failed         403  missing or wrong CSRF token, foreign Origin
    ├── RateLimited         rate_limited        429  ``retry_after_s``; Retry-After header
    ├── ServerBusy          server_busy         503  the CPU pool's queue is full
    └── NotReady            not_ready           503  models or database unavailable
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ekyc import errors as ekyc_errors
from loanflow import errors as flow_errors

__all__ = [
    "PROBLEM_JSON",
    "CsrfFailed",
    "NotAuthenticated",
    "NotReady",
    "RateLimited",
    "ServerBusy",
    "ServiceError",
    "install_error_handlers",
    "problem_response",
    "status_for",
]

_log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_TYPE_PREFIX = "urn:ekyc:problem:"


class ServiceError(Exception):
    """Root of the errors the service itself raises (sessions, CSRF, limits, readiness)."""

    code: ClassVar[str] = "service_error"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context


class NotAuthenticated(ServiceError):
    """No session or API token, or an expired or revoked one; or the wrong kind of session."""

    code = "not_authenticated"


class CsrfFailed(ServiceError):
    """A state change without the session's CSRF token, or from a foreign Origin."""

    code = "csrf_failed"


class RateLimited(ServiceError):
    """Too many requests from this client to this route; ``retry_after_s`` in context."""

    code = "rate_limited"


class ServerBusy(ServiceError):
    """The CPU pool's queue is full; ``retry_after_s`` in context."""

    code = "server_busy"


class NotReady(ServiceError):
    """The daemon cannot serve this yet (models not loaded, database unreachable)."""

    code = "not_ready"


# Class -> status; the most specific row wins (looked up along the MRO).
STATUS: Mapping[type[Exception], int] = {
    # ekyc
    ekyc_errors.EkycError: 500,
    ekyc_errors.InputError: 422,
    ekyc_errors.UnsupportedFormat: 415,
    ekyc_errors.ImageTooLarge: 413,
    ekyc_errors.DecompressionBomb: 413,
    ekyc_errors.CorruptImage: 422,
    ekyc_errors.NoFaceFound: 422,
    ekyc_errors.StepNotAllowed: 409,
    ekyc_errors.ModelError: 503,
    ekyc_errors.ModelNotFound: 503,
    ekyc_errors.ChecksumMismatch: 503,
    ekyc_errors.ProviderUnavailable: 503,
    ekyc_errors.OcrUnavailable: 503,
    # loanflow (the statuses its errors.py docstring draws)
    flow_errors.WorkflowError: 500,
    flow_errors.InvalidTransition: 409,
    flow_errors.ValidationFailed: 422,
    flow_errors.AlreadyRegistered: 409,
    flow_errors.NotFound: 404,
    flow_errors.Forbidden: 403,
    flow_errors.DocumentRejected: 422,
    flow_errors.RetakeNeeded: 422,
    flow_errors.DeadlinePassed: 409,
    flow_errors.CodeError: 400,
    flow_errors.CodeExpired: 410,
    flow_errors.CodeInvalid: 400,
    flow_errors.TooManyAttempts: 429,
    flow_errors.Replay: 409,
    flow_errors.AuthenticationError: 401,
    flow_errors.LoginFailed: 401,
    flow_errors.AccountLocked: 423,
    # service
    ServiceError: 500,
    NotAuthenticated: 401,
    CsrfFailed: 403,
    RateLimited: 429,
    ServerBusy: 503,
    NotReady: 503,
}

# Context keys a client may see: limits and what to do next; never paths or ids.
_PUBLIC_CONTEXT = frozenset(
    {
        "attempts_left",
        "locked_until",
        "deadline",
        "reason",
        "retry_after_s",
        "max_bytes",
        "max_pixels",
        "size_bytes",
        "width",
        "height",
        "detected",
        "allowed",
        "missing",
        "shot",
        "observed",
        "retakes_left",
        "message_ja",  # a challenge retake's advice
        "message_en",
        "challenge",  # the new challenge that replaced the one asked again
    }
)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "content_too_large",
    415: "unsupported_media_type",
}


def status_for(error: BaseException) -> int:
    """The HTTP status of a library or service error (500 for anything not in the table)."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _title(code: str) -> str:
    return code.replace("_", " ").capitalize()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def problem_response(
    request: Request | None,
    *,
    status: int,
    code: str,
    detail: str,
    request_id: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An ``application/problem+json`` response (``instance``: the request's path)."""
    body: dict[str, Any] = {
        "type": f"{_TYPE_PREFIX}{code}",
        "title": _title(code),
        "status": status,
        "detail": detail,
        "instance": request.url.path if request is not None else instance,
        "code": code,
        "request_id": request_id or (_request_id(request) if request is not None else None),
    }
    body.update({key: _jsonable(value) for key, value in extra.items()})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _request_id(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def _public(context: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in context.items() if key in _PUBLIC_CONTEXT}


def _retry_headers(context: Mapping[str, Any]) -> dict[str, str] | None:
    retry = context.get("retry_after_s")
    return {"Retry-After": str(math.ceil(retry))} if isinstance(retry, int | float) else None


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, ekyc_errors.EkycError | flow_errors.WorkflowError | ServiceError):
        raise exc  # registered for these roots only
    status = status_for(exc)
    extra = _public(exc.context)
    if isinstance(exc, flow_errors.ValidationFailed):
        extra["errors"] = [
            {"field": p.field, "rule": p.rule, "message": p.message} for p in exc.problems
        ]
    if status >= 500:
        _log.warning("%s: %s", exc.code, exc.message, extra={"code": exc.code})
    return problem_response(
        request,
        status=status,
        code=exc.code,
        detail=exc.message,
        headers=_retry_headers(exc.context),
        **extra,
    )


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    return ".".join(str(part) for part in parts) or str(loc[0] if loc else "")


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    problems = [
        {
            "field": _field_name(tuple(error.get("loc", ()))),
            "rule": "required" if error.get("type") == "missing" else str(error.get("type")),
            "message": str(error.get("msg", "")),
        }
        for error in exc.errors()
    ]
    fields = ", ".join(sorted({p["field"] for p in problems}))
    return problem_response(
        request,
        status=422,
        code=flow_errors.ValidationFailed.code,
        detail=f"invalid fields: {fields}",
        errors=problems,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, HTTPException):
        raise exc
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        detail=str(exc.detail),
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """One handler per root class, plus request validation and HTTP (404, 405, 413) errors.

    Anything else is caught by ``service.middleware.RequestContext``: a 500 problem with
    the request id, and the exception logged.
    """
    for root in (ekyc_errors.EkycError, flow_errors.WorkflowError, ServiceError):
        app.add_exception_handler(root, _library_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
