"""Security headers on every response: the capture page, the API, errors, the docs."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from service.headers import CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY
from tests.service.conftest import browser

pytestmark = pytest.mark.anyio

FIXED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_secure(response: httpx.Response, policy: str = CONTENT_SECURITY_POLICY) -> None:
    for name, value in FIXED.items():
        assert response.headers[name] == value, name
    assert response.headers["content-security-policy"] == policy
    permissions = response.headers["permissions-policy"]
    assert "camera=(self)" in permissions
    assert "microphone=()" in permissions


class TestPolicy:
    def test_capture_page_needs(self):
        csp = directives(CONTENT_SECURITY_POLICY)
        assert csp["default-src"] == ["'none'"]
        assert csp["script-src"] == ["'self'"]  # no inline script, no eval
        assert csp["style-src"] == ["'self'"]
        assert csp["connect-src"] == ["'self'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert "mediastream:" in csp["media-src"]
        assert "blob:" in csp["img-src"]  # canvas.toBlob previews

    def test_docs_policy_is_only_looser_for_scripts_and_styles(self):
        page, docs = directives(CONTENT_SECURITY_POLICY), directives(DOCS_CONTENT_SECURITY_POLICY)
        assert "'unsafe-inline'" not in " ".join(page.get("script-src", []))
        assert "'unsafe-inline'" in docs["script-src"]
        assert docs["frame-ancestors"] == ["'none'"]


class TestEveryResponse:
    async def test_capture_page_and_its_files(self, client: httpx.AsyncClient):
        for path in ("/capture/", "/capture/capture.js", "/capture/capture.css"):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert_secure(response)
            assert "cache-control" not in response.headers  # static files may be cached

    async def test_capture_page_has_no_inline_script_or_style(self, client: httpx.AsyncClient):
        html = (await client.get("/capture/")).text
        assert "<script>" not in html.replace(" ", "")
        assert "<script src=" in html
        assert "<style" not in html
        assert " style=" not in html
        assert re.search(r"\son[a-z]+=", html) is None  # no onclick= and the like

    async def test_api_answers_are_not_cached(self, client: httpx.AsyncClient):
        response = await client.get("/v1/ekyc/rules")
        assert response.status_code == 200
        assert_secure(response)
        assert response.headers["cache-control"] == "no-store"

    async def test_problems_and_unknown_routes(self, client: httpx.AsyncClient):
        response = await client.post("/v1/mypage/registration/code", json={"code": "123456"})
        assert response.status_code == 401
        assert_secure(response)
        assert_secure(await client.get("/nothing/here"))

    async def test_unexpected_500(self, app: FastAPI, client: httpx.AsyncClient):
        @app.get("/v1/boom")
        async def boom() -> None:
            raise RuntimeError("boom")

        response = await client.get("/v1/boom")
        assert response.status_code == 500
        assert_secure(response)

    async def test_hsts_on_https_only(self, app: FastAPI, client: httpx.AsyncClient):
        secure = await client.get("/health/live")  # the fixture browser speaks https
        assert secure.headers["strict-transport-security"] == (
            "max-age=31536000; includeSubDomains"
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as plain:
            response = await plain.get("/health/live")
        assert "strict-transport-security" not in response.headers
        assert_secure(response)

    async def test_hsts_can_be_off(self, make_settings, make_client):
        async with make_client(make_settings(hsts_max_age_s=0)) as client:
            response = await client.get("/health/live")
        assert "strict-transport-security" not in response.headers
        assert_secure(response)

    async def test_docs_get_their_own_policy(self, client: httpx.AsyncClient):
        response = await client.get("/docs")
        assert response.status_code == 200
        assert_secure(response, DOCS_CONTENT_SECURITY_POLICY)

    async def test_a_header_the_route_set_is_kept(self, app: FastAPI):
        from fastapi.responses import PlainTextResponse

        @app.get("/v1/cached")
        async def cached() -> PlainTextResponse:
            return PlainTextResponse("x", headers={"Cache-Control": "max-age=60"})

        async with app.router.lifespan_context(app), browser(app) as client:
            response = await client.get("/v1/cached")
        assert response.headers.get_list("cache-control") == ["max-age=60"]
