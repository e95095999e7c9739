"""Sessions, CSRF tokens, staff tokens and token buckets, alone and over HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from service.ratelimit import TokenBuckets
from service.security import Scope, SessionStore, csrf_token, csrf_valid, staff_for_token
from service.settings import RateLimit
from tests.service.journey import assert_problem

T0 = datetime(2025, 4, 25, 1, 0, tzinfo=UTC)
TOKEN = "staff-token-" + "z" * 30


def store(
    idle: timedelta = timedelta(minutes=30),
    max_age: timedelta = timedelta(hours=8),
    max_sessions: int = 10,
) -> SessionStore:
    return SessionStore(idle=idle, max_age=max_age, max_sessions=max_sessions)


class TestSessionStore:
    def test_idle_expiry_restarts_on_use(self):
        sessions = store()
        token = sessions.create("a1", Scope.APPLICANT, now=T0)
        assert sessions.get(token, now=T0 + timedelta(minutes=29)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=58)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=89)) is None

    def test_absolute_expiry(self):
        sessions = store(max_age=timedelta(hours=1))
        token = sessions.create("a1", Scope.APPLICANT, now=T0)
        for minutes in range(0, 60, 20):
            assert sessions.get(token, now=T0 + timedelta(minutes=minutes)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=61)) is None

    def test_ids_are_not_stored_and_revocation(self):
        sessions = store()
        token = sessions.create("a1", Scope.REGISTRATION, now=T0)
        assert token not in repr(vars(sessions))
        sessions.revoke_applicant("a1", Scope.APPLICANT)
        assert sessions.get(token, now=T0) is not None
        sessions.revoke_applicant("a1")
        assert sessions.get(token, now=T0) is None

    def test_bounded(self):
        sessions = store(max_sessions=2)
        first = sessions.create("a1", Scope.APPLICANT, now=T0)
        sessions.create("a2", Scope.APPLICANT, now=T0 + timedelta(seconds=1))
        sessions.create("a3", Scope.APPLICANT, now=T0 + timedelta(seconds=2))
        assert len(sessions) == 2
        assert sessions.get(first, now=T0 + timedelta(seconds=3)) is None  # the oldest went


class TestTokens:
    def test_csrf_token_is_bound_to_session_and_secret(self):
        token = csrf_token(b"k1", "session-a")
        assert csrf_valid(b"k1", "session-a", token)
        assert not csrf_valid(b"k1", "session-b", token)
        assert not csrf_valid(b"k2", "session-a", token)
        assert not csrf_valid(b"k1", "session-a", None)

    def test_staff_token(self):
        digests = {"reviewer-1": hashlib.sha256(TOKEN.encode()).hexdigest()}
        assert staff_for_token(TOKEN, digests) == "reviewer-1"
        assert staff_for_token(TOKEN + "x", digests) is None


class TestTokenBuckets:
    def test_burst_then_refill(self):
        now = [0.0]
        buckets = TokenBuckets(RateLimit(per_minute=60, burst=2), monotonic=lambda: now[0])
        assert buckets.take("c /x") is None
        assert buckets.take("c /x") is None
        assert buckets.take("c /x") == pytest.approx(1.0)
        assert buckets.take("d /x") is None  # another client
        now[0] += 1.0
        assert buckets.take("c /x") is None

    def test_full_buckets_are_forgotten(self):
        now = [0.0]
        buckets = TokenBuckets(
            RateLimit(per_minute=60, burst=1), max_keys=2, monotonic=lambda: now[0]
        )
        for key in "abc":
            buckets.take(key)
            now[0] += 10
        assert len(buckets._buckets) <= 2


@pytest.mark.anyio
class TestStaffApi:
    async def test_bearer_token(self, make_settings, make_client):
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        async with make_client(make_settings(staff_token_sha256={"reviewer-1": digest})) as client:
            ok = await client.get("/v1/staff/whoami", headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.json() == {"staff_id": "reviewer-1"}
            wrong = {"Authorization": "Bearer nope"}
            assert_problem(
                await client.get("/v1/staff/whoami", headers=wrong), 401, "not_authenticated"
            )
            assert_problem(await client.get("/v1/staff/whoami"), 401, "not_authenticated")
