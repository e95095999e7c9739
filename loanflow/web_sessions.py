"""Browser sessions of My Page, in the database (``web_sessions``).

A session id is a random token the browser keeps in a cookie; the table keeps only its
sha256, the applicant, a scope (a word the daemon gives meaning to) and two instants. A
session ends after ``idle`` without use or ``max_age`` after it began, whichever comes
first. Keeping sessions here rather than in the daemon's memory means a restart (or a
second replica) logs nobody out, and a registration between its mailed code and its
password is never stranded.

``last_seen_at`` is written at most once per ``touch_every``, so a busy page does not turn
every read into a write; the idle clock is that much coarse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from loanflow.db import SessionFactory, transaction
from loanflow.tables import WebSession

__all__ = [
    "SessionPolicy",
    "WebSessionView",
    "count_web_sessions",
    "end_applicant_sessions",
    "end_web_session",
    "find_web_session",
    "start_web_session",
]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions live, and how many may exist at once."""

    idle: timedelta
    max_age: timedelta
    max_sessions: int
    touch_every: timedelta = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class WebSessionView:
    """A live session (never its id)."""

    applicant_id: str
    scope: str
    created_at: datetime
    last_seen_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _expired(policy: SessionPolicy, now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        WebSession.last_seen_at < now - policy.idle,
        WebSession.created_at < now - policy.max_age,
    )


def start_web_session(
    db: SessionFactory,
    token: str,
    applicant_id: str,
    scope: str,
    *,
    policy: SessionPolicy,
    now: datetime,
) -> None:
    """Keep a new session; expired ones are swept, and the oldest go beyond the bound."""
    with transaction(db) as session:
        session.execute(sa.delete(WebSession).where(_expired(policy, now)))
        live = session.scalar(sa.select(sa.func.count()).select_from(WebSession)) or 0
        if live >= policy.max_sessions:
            oldest = (
                sa.select(WebSession.token_sha256)
                .order_by(WebSession.last_seen_at, WebSession.created_at)
                .limit(live - policy.max_sessions + 1)
            )
            session.execute(sa.delete(WebSession).where(WebSession.token_sha256.in_(oldest)))
        session.add(
            WebSession(
                token_sha256=_digest(token),
                applicant_id=applicant_id,
                scope=scope,
                created_at=now,
                last_seen_at=now,
            )
        )


def find_web_session(
    db: SessionFactory, token: str, *, policy: SessionPolicy, now: datetime
) -> WebSessionView | None:
    """The live session of ``token`` (its idle clock restarts), or ``None``."""
    with transaction(db) as session:
        row = session.get(WebSession, _digest(token))
        if row is None:
            return None
        if row.last_seen_at < now - policy.idle or row.created_at < now - policy.max_age:
            session.delete(row)
            return None
        if now - row.last_seen_at >= policy.touch_every:
            row.last_seen_at = now
        return WebSessionView(row.applicant_id, row.scope, row.created_at, row.last_seen_at)


def end_web_session(db: SessionFactory, token: str) -> None:
    """End one session (logout); an unknown token is ignored."""
    with transaction(db) as session:
        session.execute(sa.delete(WebSession).where(WebSession.token_sha256 == _digest(token)))


def end_applicant_sessions(db: SessionFactory, applicant_id: str, scope: str | None) -> None:
    """End every session of the applicant (of ``scope`` only, when given)."""
    query = sa.delete(WebSession).where(WebSession.applicant_id == applicant_id)
    if scope is not None:
        query = query.where(WebSession.scope == scope)
    with transaction(db) as session:
        session.execute(query)


def count_web_sessions(db: SessionFactory) -> int:
    """Sessions stored (expired ones included until the next sweep)."""
    with transaction(db) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(WebSession)) or 0
