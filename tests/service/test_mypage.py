"""The My Page journey over HTTP: real database, real mails, cookies and CSRF."""

from __future__ import annotations

import httpx
import pytest

from tests.loanflow.conftest import FakeClock, Mailbox
from tests.service.journey import (
    CSRF,
    PASSWORD,
    assert_problem,
    form,
    log_in,
    logged_in,
    open_terms,
    register,
    sign_up,
    verify,
)

pytestmark = pytest.mark.anyio

EMAIL = "hanako@example.jp"
SESSION = "__Host-ekyc_session"


class TestJourney:
    async def test_registration_to_login_to_logout(
        self, client: httpx.AsyncClient, mailbox: Mailbox
    ):
        login_id = await sign_up(client, mailbox, EMAIL)
        # The registration session ended with the password step.
        assert_problem(await client.get("/v1/mypage/session"), 401, "not_authenticated")

        response = await log_in(client, login_id.lower())  # typed on a phone
        assert response.status_code == 200, response.text
        csrf = response.json()["csrf_token"]
        assert response.json()["scope"] == "applicant"
        session = await client.get("/v1/mypage/session")
        assert session.json() == {"scope": "applicant", "csrf_token": csrf}

        assert_problem(await client.post("/v1/mypage/logout"), 403, "csrf_failed")
        assert (await client.post("/v1/mypage/logout", headers={CSRF: csrf})).status_code == 204
        assert_problem(await client.get("/v1/mypage/session"), 401, "not_authenticated")

    async def test_session_cookies_are_host_only_httponly_secure_strict(
        self, client: httpx.AsyncClient
    ):
        terms = await open_terms(client)
        response = await client.post("/v1/mypage/registrations", json=form(terms, EMAIL))
        cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
        session = {part.strip() for part in cookies[SESSION].lower().split(";")}
        assert {"httponly", "secure", "samesite=strict", "path=/"} <= session
        assert not any(part.startswith("domain") for part in session)
        csrf_cookie = cookies["__Host-ekyc_csrf"].lower()
        assert "secure" in csrf_cookie
        assert "httponly" not in csrf_cookie  # the page's script reads it
        assert response.json()["csrf_token"] in cookies["__Host-ekyc_csrf"]

    async def test_reissued_code_replaces_the_first(
        self, client: httpx.AsyncClient, mailbox: Mailbox
    ):
        csrf = await register(client, EMAIL)
        first = mailbox.code_for(EMAIL)
        reissued = await client.post("/v1/mypage/registration/code/reissue", headers={CSRF: csrf})
        assert reissued.status_code == 201, reissued.text
        assert len(mailbox.received(EMAIL, "【ろうきん】認証コードのご案内")) == 2
        second = mailbox.code_for(EMAIL)
        if first != second:
            assert (await verify(client, csrf, first)).status_code >= 400
        assert (await verify(client, csrf, second)).status_code == 204

    async def test_login_rotates_the_session(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, mailbox: Mailbox
    ):
        csrf = await logged_in(client, mailbox, EMAIL)
        old = client.cookies[SESSION]
        assert (await log_in(client, mailbox.login_id_for(EMAIL))).status_code == 200
        assert client.cookies[SESSION] != old
        replayed = {"Cookie": f"{SESSION}={old}", CSRF: csrf}
        response = await other_client.post("/v1/mypage/logout", headers=replayed)
        assert_problem(response, 401, "not_authenticated")


class TestIsolation:
    async def test_another_session_cannot_act_on_this_applicant(
        self, client: httpx.AsyncClient, other_client: httpx.AsyncClient, mailbox: Mailbox
    ):
        csrf_a = await register(client, EMAIL)
        code_a = mailbox.code_for(EMAIL)
        csrf_b = await register(other_client, "taro@example.jp")

        # B presenting A's code acts on B's own registration only: a wrong code for B.
        body = assert_problem(await verify(other_client, csrf_b, code_a), 400, "code_invalid")
        assert body["attempts_left"] == 4
        # A's CSRF token does not work with B's session, nor B's with A's.
        assert_problem(await verify(other_client, csrf_a, code_a), 403, "csrf_failed")
        assert_problem(await verify(client, csrf_b, code_a), 403, "csrf_failed")
        # A's registration is untouched by all that.
        assert (await verify(client, csrf_a, code_a)).status_code == 204

    async def test_no_session_no_access(self, client: httpx.AsyncClient):
        assert_problem(await verify(client, "x", "123456"), 401, "not_authenticated")

    async def test_registration_session_cannot_use_applicant_routes(
        self, client: httpx.AsyncClient
    ):
        csrf = await register(client, EMAIL)
        response = await client.post(
            "/v1/capture/quality", content=b"\xff\xd8\xff", headers={CSRF: csrf}
        )
        assert_problem(response, 401, "not_authenticated")

    async def test_foreign_origin_is_refused(self, client: httpx.AsyncClient):
        foreign = {"Origin": "https://evil.example"}
        response = await client.post("/v1/mypage/terms-opened", headers=foreign)
        assert_problem(response, 403, "csrf_failed")
        own = {"Origin": "https://testserver"}
        assert (await client.post("/v1/mypage/terms-opened", headers=own)).status_code == 201
        cross = {"Sec-Fetch-Site": "cross-site"}
        response = await client.post("/v1/mypage/terms-opened", headers=cross)
        assert_problem(response, 403, "csrf_failed")


class TestRefusals:
    async def test_expired_code(
        self, client: httpx.AsyncClient, mailbox: Mailbox, clock: FakeClock
    ):
        csrf = await register(client, EMAIL)
        clock.advance(minutes=6)
        response = await verify(client, csrf, mailbox.code_for(EMAIL))
        assert_problem(response, 410, "code_expired")

    async def test_replayed_code(self, client: httpx.AsyncClient, mailbox: Mailbox):
        csrf = await register(client, EMAIL)
        code = mailbox.code_for(EMAIL)
        assert (await verify(client, csrf, code)).status_code == 204
        assert_problem(await verify(client, csrf, code), 409, "replay")

    async def test_locked_account(self, client: httpx.AsyncClient, mailbox: Mailbox):
        login_id = await sign_up(client, mailbox, EMAIL)
        for _ in range(4):
            response = await log_in(client, login_id, "Wrong2025!")
            assert_problem(response, 401, "login_failed")
        response = await log_in(client, login_id, "Wrong2025!")
        body = assert_problem(response, 423, "account_locked")
        assert "locked_until" in body
        assert_problem(await log_in(client, login_id, PASSWORD), 423, "account_locked")

    async def test_already_registered(self, client: httpx.AsyncClient):
        await register(client, EMAIL)
        terms = await open_terms(client)
        response = await client.post("/v1/mypage/registrations", json=form(terms, EMAIL))
        assert_problem(response, 409, "already_registered")

    async def test_form_rules_are_loanflows(self, client: httpx.AsyncClient):
        terms = await open_terms(client)
        bad = form(terms, EMAIL, home_phone="0612345678", email_confirmation="x@example.jp")
        response = await client.post("/v1/mypage/registrations", json=bad)
        body = assert_problem(response, 422, "validation_failed")
        fields = {problem["field"] for problem in body["errors"]}
        assert {"home_phone", "email_confirmation"} <= fields

    async def test_request_shape_errors_name_the_fields(self, client: httpx.AsyncClient):
        response = await client.post("/v1/mypage/registrations", json={"family_name": 3})
        body = assert_problem(response, 422, "validation_failed")
        rules = {(p["field"], p["rule"]) for p in body["errors"]}
        assert ("email", "required") in rules
        assert ("family_name", "string_type") in rules

    async def test_malformed_json(self, client: httpx.AsyncClient):
        response = await client.post(
            "/v1/mypage/login", content=b"{", headers={"Content-Type": "application/json"}
        )
        assert_problem(response, 422, "validation_failed")

    async def test_oversized_json_body(self, client: httpx.AsyncClient):
        big = {"login_id": "x" * 100_000, "password": ""}
        response = await client.post("/v1/mypage/login", json=big)
        assert_problem(response, 413, "content_too_large")


class TestCors:
    async def test_allowed_origin_may_call_with_credentials(self, make_settings, make_client):
        front = "https://loan.rokin.example"
        async with make_client(make_settings(allowed_origins=(front,))) as client:
            preflight = await client.options(
                "/v1/mypage/login",
                headers={
                    "Origin": front,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "content-type,x-csrf-token",
                },
            )
            assert preflight.status_code == 200
            assert preflight.headers["access-control-allow-origin"] == front
            assert preflight.headers["access-control-allow-credentials"] == "true"
            response = await client.post("/v1/mypage/terms-opened", headers={"Origin": front})
            assert response.status_code == 201
            assert response.headers["access-control-allow-origin"] == front
