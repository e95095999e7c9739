"""The My Page journey over HTTP, as the front end drives it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.loanflow.conftest import Mailbox

PASSWORD = "Rokin2025!"  # noqa: S105 (a test password)
CSRF = "X-CSRF-Token"


def form(terms_open_id: str, email: str, **overrides: Any) -> dict[str, Any]:
    """A valid My Page form as JSON."""
    return {
        "family_name": "山田",
        "given_name": "花子",
        "email": email,
        "email_confirmation": email,
        "home_phone": "06-1234-5678",
        "terms_open_id": terms_open_id,
        "terms_consent": True,
        "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ",
        **overrides,
    }


async def open_terms(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/mypage/terms-opened")
    assert response.status_code == 201, response.text
    return str(response.json()["terms_open_id"])


async def register(client: httpx.AsyncClient, email: str) -> str:
    """Open the terms and register; returns the registration session's CSRF token."""
    terms = await open_terms(client)
    response = await client.post("/v1/mypage/registrations", json=form(terms, email))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["scope"] == "registration"
    return str(body["csrf_token"])


async def verify(client: httpx.AsyncClient, csrf: str, code: str) -> httpx.Response:
    return await client.post(
        "/v1/mypage/registration/code", json={"code": code}, headers={CSRF: csrf}
    )


async def sign_up(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    """Register, verify the mailed code, set the password; returns the mailed login ID."""
    csrf = await register(client, email)
    assert (await verify(client, csrf, mailbox.code_for(email))).status_code == 204
    response = await client.post(
        "/v1/mypage/registration/password",
        json={"password": PASSWORD, "password_confirmation": PASSWORD},
        headers={CSRF: csrf},
    )
    assert response.status_code == 204, response.text
    return mailbox.login_id_for(email)


async def log_in(
    client: httpx.AsyncClient, login_id: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/v1/mypage/login", json={"login_id": login_id, "password": password})


async def logged_in(client: httpx.AsyncClient, mailbox: Mailbox, email: str) -> str:
    """A signed-up, logged-in applicant; returns the session's CSRF token."""
    response = await log_in(client, await sign_up(client, mailbox, email))
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert {"title", "detail", "instance", "request_id"} <= body.keys()
    assert body["request_id"] == response.headers["x-request-id"]
    return body
