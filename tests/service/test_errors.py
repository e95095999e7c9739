"""Problem details: the status table, unexpected errors, unknown routes, rate limits."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

from ekyc import errors as ekyc_errors
from loanflow import errors as flow_errors
from service.errors import STATUS, status_for
from service.settings import RateLimit
from tests.service.journey import assert_problem, log_in

pytestmark = pytest.mark.anyio


class TestStatusTable:
    @pytest.mark.parametrize("module", [ekyc_errors, flow_errors], ids=["ekyc", "loanflow"])
    def test_every_library_error_has_its_own_row(self, module):
        classes = [getattr(module, name) for name in module.__all__]
        errors = [c for c in classes if isinstance(c, type) and issubclass(c, Exception)]
        assert errors
        assert [c.__name__ for c in errors if c not in STATUS] == []

    @pytest.mark.parametrize(
        ("error", "status"),
        [
            (ekyc_errors.UnsupportedFormat("x"), 415),
            (ekyc_errors.ImageTooLarge("x"), 413),
            (ekyc_errors.DecompressionBomb("x"), 413),
            (ekyc_errors.CorruptImage("x"), 422),
            (ekyc_errors.NoFaceFound("x"), 422),
            (ekyc_errors.StepNotAllowed("x"), 409),
            (ekyc_errors.ChecksumMismatch("x"), 503),
            (flow_errors.CodeExpired("x"), 410),
            (flow_errors.Replay("x"), 409),
            (flow_errors.AccountLocked("x"), 423),
            (flow_errors.TooManyAttempts("x"), 429),
            (RuntimeError("x"), 500),
        ],
    )
    def test_known_values(self, error, status):
        assert status_for(error) == status


class TestUnexpectedErrors:
    async def test_500_with_request_id_and_the_daemon_keeps_serving(
        self, app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ):
        @app.get("/v1/boom")
        async def boom() -> None:
            raise RuntimeError("internal detail 1234-5678")

        with caplog.at_level(logging.ERROR, logger="service.errors"):
            response = await client.get("/v1/boom", headers={"X-Request-ID": "req-42"})
        problem = assert_problem(response, 500, "internal_error")
        assert problem["request_id"] == "req-42"
        assert "1234-5678" not in response.text
        assert [r.request_id for r in caplog.records] == ["req-42"]  # type: ignore[attr-defined]
        assert "RuntimeError" in caplog.text

        assert (await client.get("/health/live")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert 'ekyc_http_requests_total{method="GET",route="/v1/boom",status="500"} 1' in metrics

    async def test_unsafe_request_ids_are_replaced(self, client: httpx.AsyncClient):
        response = await client.get("/health/live", headers={"X-Request-ID": "a\tb"})
        assert len(response.headers["x-request-id"]) == 32

    async def test_unknown_route_and_method(self, client: httpx.AsyncClient):
        assert_problem(await client.get("/v1/nothing"), 404, "not_found")
        assert_problem(await client.get("/v1/mypage/login"), 405, "method_not_allowed")


class TestRateLimit:
    async def test_429_problem_with_retry_after(self, make_settings, make_client):
        settings = make_settings(rate_login=RateLimit(per_minute=1, burst=2))
        async with make_client(settings) as client:
            for _ in range(2):
                assert_problem(await log_in(client, "AAAAAAAAAA", "x"), 401, "login_failed")
            response = await log_in(client, "AAAAAAAAAA", "x")
            problem = assert_problem(response, 429, "rate_limited")
            assert 0 < problem["retry_after_s"] <= 60
            assert 1 <= int(response.headers["retry-after"]) <= 60
            # Another route has its own bucket.
            assert (await client.post("/v1/mypage/terms-opened")).status_code == 201
            metrics = (await client.get("/metrics")).text
            assert 'ekyc_events_total{event="rate_limited",route="/v1/mypage/login"} 1' in metrics
