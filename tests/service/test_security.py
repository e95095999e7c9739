"""Sessions, CSRF tokens, staff tokens and token buckets, alone and over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from loanflow.db import SessionFactory, create_engine, session_factory, transaction
from loanflow.tables import Applicant, ApplicantStatus, WebSession
from service.ratelimit import TokenBuckets
from service.security import Scope, SessionStore, csrf_token, csrf_valid, staff_for_token
from service.settings import RateLimit
from tests.service.journey import CSRF, PASSWORD, assert_problem, log_in, register, verify

T0 = datetime(2025, 4, 25, 1, 0, tzinfo=UTC)
TOKEN = "staff-token-" + "z" * 30


@pytest.fixture
def db(db_url: str) -> Iterator[SessionFactory]:
    """The test database with applicants a1, a2 and a3 (sessions name real applicants)."""
    engine = create_engine(db_url)
    factory = session_factory(engine)
    with transaction(factory) as session:
        for number in (1, 2, 3):
            session.add(
                Applicant(
                    id=f"a{number}",
                    status=ApplicantStatus.ACTIVE,
                    email=f"a{number}@example.jp",
                    family_name="山田",
                    given_name="花子",
                    home_phone="06-1234-5678",
                    terms_consented_at=T0,
                    created_at=T0,
                )
            )
    yield factory
    engine.dispose()


@pytest.fixture
def store(db: SessionFactory) -> Callable[..., SessionStore]:
    def make(
        idle: timedelta = timedelta(minutes=30),
        max_age: timedelta = timedelta(hours=8),
        max_sessions: int = 10,
    ) -> SessionStore:
        return SessionStore(db, idle=idle, max_age=max_age, max_sessions=max_sessions)

    return make


class TestSessionStore:
    def test_idle_expiry_restarts_on_use(self, store):
        sessions = store()
        token = sessions.create("a1", Scope.APPLICANT, now=T0)
        assert sessions.get(token, now=T0 + timedelta(minutes=29)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=58)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=89)) is None

    def test_absolute_expiry(self, store):
        sessions = store(max_age=timedelta(hours=1))
        token = sessions.create("a1", Scope.APPLICANT, now=T0)
        for minutes in range(0, 60, 20):
            assert sessions.get(token, now=T0 + timedelta(minutes=minutes)) is not None
        assert sessions.get(token, now=T0 + timedelta(minutes=61)) is None

    def test_ids_are_not_stored_and_revocation(self, store, db):
        sessions = store()
        token = sessions.create("a1", Scope.REGISTRATION, now=T0)
        with transaction(db) as session:
            [row] = session.execute(sa.select(WebSession.__table__)).all()
        assert token not in repr(row)
        assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        sessions.revoke_applicant("a1", Scope.APPLICANT)
        assert sessions.get(token, now=T0) is not None
        sessions.revoke_applicant("a1")
        assert sessions.get(token, now=T0) is None

    def test_bounded(self, store):
        sessions = store(max_sessions=2)
        first = sessions.create("a1", Scope.APPLICANT, now=T0)
        sessions.create("a2", Scope.APPLICANT, now=T0 + timedelta(seconds=1))
        sessions.create("a3", Scope.APPLICANT, now=T0 + timedelta(seconds=2))
        assert len(sessions) == 2
        assert sessions.get(first, now=T0 + timedelta(seconds=3)) is None  # the oldest went

    def test_outlives_the_store_object(self, store):
        """A new store on the same database (a restarted daemon) knows the session."""
        token = store().create("a2", Scope.REGISTRATION, now=T0)
        record = store().get(token, now=T0 + timedelta(minutes=5))
        assert record is not None
        assert (record.applicant_id, record.scope) == ("a2", Scope.REGISTRATION)
        assert store().get("not-a-session", now=T0) is None


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


@pytest.mark.anyio
class TestSessionsOutliveTheApp:
    async def test_registration_and_login_survive_a_new_app(self, settings, make_client, mailbox):
        """A registration between its code and its password, and a login, each cross a
        restart (a new app on the same database) with the browser's cookies."""
        email = "restart@example.jp"
        async with make_client(settings) as first:
            csrf = await register(first, email)
            cookies = httpx.Cookies(first.cookies)
        async with make_client(settings) as second:
            second.cookies = cookies
            assert (await verify(second, csrf, mailbox.code_for(email))).status_code == 204
            response = await second.post(
                "/v1/mypage/registration/password",
                json={"password": PASSWORD, "password_confirmation": PASSWORD},
                headers={CSRF: csrf},
            )
            assert response.status_code == 204, response.text
            logged_in = await log_in(second, mailbox.login_id_for(email))
            assert logged_in.status_code == 200, logged_in.text
            csrf = logged_in.json()["csrf_token"]
            cookies = httpx.Cookies(second.cookies)
        async with make_client(settings) as third:
            third.cookies = cookies
            session = await third.get("/v1/mypage/session")
            assert session.status_code == 200, session.text
            assert session.json()["scope"] == "applicant"
            created = await third.post(
                "/v1/applications", json={"kind": "full", "product": "car"}, headers={CSRF: csrf}
            )
            assert created.status_code == 201, created.text
            assert (await third.post("/v1/mypage/logout", headers={CSRF: csrf})).status_code == 204
        async with make_client(settings) as fourth:
            fourth.cookies = cookies  # logged out: the old cookie opens nothing
            assert_problem(await fourth.get("/v1/mypage/session"), 401, "not_authenticated")
