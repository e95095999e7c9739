"""Applicant sessions, CSRF tokens, the Origin check and staff API tokens.

Applicant sessions are server-side: the browser holds a random 256-bit id in an
``HttpOnly; Secure; SameSite=Strict`` cookie named with the ``__Host-`` prefix (no
Domain, Path=/), and the database keeps only the id's SHA-256, so a dump of it does not
hand out live sessions. A session has a *scope*: ``registration`` (after the My Page
form, until the password is set: code and password steps only) or ``applicant`` (after
login: everything the applicant owns). The applicant id never travels in a URL or a
body: it comes from the session, so one applicant cannot name another's data.

CSRF: every state change that rides on a session cookie must carry the header
``X-CSRF-Token`` with HMAC(secret_key, session id), handed out when the session starts
(body and a readable ``__Host-ekyc_csrf`` cookie). State changes without a session
(terms, registration, login) are covered by the Origin check: a browser's ``Origin`` (or
``Sec-Fetch-Site: cross-site``) must name this origin or an allowed one.

Staff use ``Authorization: Bearer <token>``; the settings hold each token's SHA-256.

Sessions live in the database (``loanflow.web_sessions``): a restart or a second
replica logs nobody out, and a registration between its code and its password survives.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from loanflow.db import SessionFactory
from loanflow.web_sessions import (
    SessionPolicy,
    count_web_sessions,
    end_applicant_sessions,
    end_web_session,
    find_web_session,
    start_web_session,
)

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Scope",
    "SessionRecord",
    "SessionStore",
    "clear_session_cookies",
    "csrf_token",
    "csrf_valid",
    "set_session_cookies",
    "staff_for_token",
]

SESSION_COOKIE = "__Host-ekyc_session"
CSRF_COOKIE = "__Host-ekyc_csrf"
CSRF_HEADER = "X-CSRF-Token"


class Scope(enum.StrEnum):
    """What a session may do."""

    REGISTRATION = "registration"  # code and password steps of its own registration
    APPLICANT = "applicant"  # logged in


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One live session (the store's value; the id itself is not kept)."""

    applicant_id: str
    scope: Scope
    created_at: datetime
    last_seen_at: datetime


class SessionStore:
    """Sessions in the database (``loanflow.web_sessions``), with idle and absolute expiry.

    Args:
        db: The loanflow session factory.
        idle: A session unused this long is gone.
        max_age: A session older than this is gone, however busy.
        max_sessions: Beyond it, expired sessions are swept, then the oldest dropped.
    """

    def __init__(
        self, db: SessionFactory, *, idle: timedelta, max_age: timedelta, max_sessions: int
    ) -> None:
        self._db = db
        self._policy = SessionPolicy(idle=idle, max_age=max_age, max_sessions=max_sessions)

    def __len__(self) -> int:
        return count_web_sessions(self._db)

    def create(self, applicant_id: str, scope: Scope, *, now: datetime) -> str:
        """Start a session; returns the id for the cookie (never stored as such)."""
        token = secrets.token_urlsafe(32)
        start_web_session(self._db, token, applicant_id, scope.value, policy=self._policy, now=now)
        return token

    def get(self, token: str, *, now: datetime) -> SessionRecord | None:
        """The live session for ``token`` (its idle timer restarts), or ``None``."""
        found = find_web_session(self._db, token, policy=self._policy, now=now)
        if found is None:
            return None
        return SessionRecord(found.applicant_id, Scope(found.scope), found.created_at, now)

    def revoke(self, token: str) -> None:
        """End the session (logout); unknown tokens are ignored."""
        end_web_session(self._db, token)

    def revoke_applicant(self, applicant_id: str, scope: Scope | None = None) -> None:
        """End every session of the applicant (of ``scope`` only, when given)."""
        end_applicant_sessions(self._db, applicant_id, scope.value if scope else None)


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of its id under the daemon's secret."""
    mac = hmac.new(secret, b"csrf:" + session_token.encode("ascii", "replace"), "sha256")
    return mac.hexdigest()


def csrf_valid(secret: bytes, session_token: str, presented: str | None) -> bool:
    """Whether ``presented`` is the session's CSRF token (constant-time)."""
    if not presented:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), presented)


def staff_for_token(token: str, token_sha256: Mapping[str, str]) -> str | None:
    """The staff id whose token this is, or ``None`` (every entry compared, constant-time)."""
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    found = None
    for staff_id, expected in token_sha256.items():
        if hmac.compare_digest(digest, expected.lower()):
            found = staff_id
    return found


def set_session_cookies(response: Response, session_token: str, csrf: str) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie (readable by the page's script)."""
    common: dict[str, Any] = {"secure": True, "samesite": "strict", "path": "/"}
    response.set_cookie(SESSION_COOKIE, session_token, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)


def clear_session_cookies(response: Response) -> None:
    """Expire both cookies in the browser."""
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=True, httponly=httponly, samesite="strict")
