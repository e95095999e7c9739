"""Applicant sessions, CSRF tokens, the Origin check and staff API tokens.

Applicant sessions are server-side: the browser holds a random 256-bit id in an
``HttpOnly; Secure; SameSite=Strict`` cookie named with the ``__Host-`` prefix (no
Domain, Path=/), and the store keeps only the id's SHA-256, so a memory dump does not
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

The store is in process memory: one daemon process per replica, and a restart logs
applicants out (a database-backed store would be a loanflow table).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class SessionStore:
    """Sessions in memory, with idle and absolute expiry; thread-safe.

    Args:
        idle: A session unused this long is gone.
        max_age: A session older than this is gone, however busy.
        max_sessions: Beyond it, expired sessions are swept, then the oldest dropped.
    """

    def __init__(self, *, idle: timedelta, max_age: timedelta, max_sessions: int) -> None:
        self._idle = idle
        self._max_age = max_age
        self._max_sessions = max_sessions
        self._sessions: dict[str, SessionRecord] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def create(self, applicant_id: str, scope: Scope, *, now: datetime) -> str:
        """Start a session; returns the id for the cookie (never stored as such)."""
        token = secrets.token_urlsafe(32)
        record = SessionRecord(applicant_id, scope, created_at=now, last_seen_at=now)
        with self._lock:
            if len(self._sessions) >= self._max_sessions:
                self._sweep(now)
            while len(self._sessions) >= self._max_sessions:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen_at)
                del self._sessions[oldest]
            self._sessions[_digest(token)] = record
        return token

    def get(self, token: str, *, now: datetime) -> SessionRecord | None:
        """The live session for ``token`` (its idle timer restarts), or ``None``."""
        key = _digest(token)
        with self._lock:
            record = self._sessions.get(key)
            if record is None:
                return None
            if self._expired(record, now):
                del self._sessions[key]
                return None
            record = replace(record, last_seen_at=max(now, record.last_seen_at))
            self._sessions[key] = record
            return record

    def revoke(self, token: str) -> None:
        """End the session (logout); unknown tokens are ignored."""
        with self._lock:
            self._sessions.pop(_digest(token), None)

    def revoke_applicant(self, applicant_id: str, scope: Scope | None = None) -> None:
        """End every session of the applicant (of ``scope`` only, when given)."""
        with self._lock:
            for key in [
                key
                for key, record in self._sessions.items()
                if record.applicant_id == applicant_id and scope in (None, record.scope)
            ]:
                del self._sessions[key]

    def _expired(self, record: SessionRecord, now: datetime) -> bool:
        return now - record.last_seen_at > self._idle or now - record.created_at > self._max_age

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, r in self._sessions.items() if self._expired(r, now)]:
            del self._sessions[key]


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
