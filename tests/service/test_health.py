"""Liveness, readiness with the preloaded models, and the metrics text."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.service.journey import assert_problem

pytestmark = pytest.mark.anyio


async def test_live(client: httpx.AsyncClient):
    response = await client.get("/health/live")
    assert response.json() == {"status": "ok"}


async def test_ready_without_preloading(client: httpx.AsyncClient):
    response = await client.get("/health/ready")
    assert response.json() == {"status": "ready", "database": "ok", "models": []}


@pytest.mark.models
async def test_ready_lists_the_preloaded_models(make_settings, make_client):
    async with make_client(make_settings(preload_models=True)) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    models = response.json()["models"]
    tasks = {"face-detect", "face-embed", "card-layout", "card-corners"}
    assert {m["task"] for m in models} == tasks
    assert all(re.fullmatch(r"[0-9a-f]{64}", m["sha256"]) for m in models)
    assert all("@" in m["id"] for m in models)


async def test_not_ready_when_models_cannot_load(make_settings, make_client, tmp_path):
    settings = make_settings(preload_models=True, model_manifest=tmp_path / "missing.toml")
    async with make_client(settings) as client:
        problem = assert_problem(await client.get("/health/ready"), 503, "not_ready")
        assert problem["reason"] == "model_not_found"
        assert (await client.get("/health/live")).status_code == 200  # alive, not ready


async def test_metrics_latency_histogram(client: httpx.AsyncClient):
    await client.get("/health/live")
    await client.get("/health/live")
    response = await client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE ekyc_http_request_duration_seconds histogram" in text
    labels = 'method="GET",route="/health/live"'
    assert f'ekyc_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} 2' in text
    assert f"ekyc_http_request_duration_seconds_count{{{labels}}} 2" in text
    assert re.search(rf"ekyc_http_request_duration_seconds_sum\{{{labels}\}} [0-9.e-]+", text)
    buckets = [
        int(m.group(1)) for m in re.finditer(rf'_bucket\{{{labels},le="[^"]+"\}} (\d+)', text)
    ]
    assert buckets == sorted(buckets)  # cumulative
    assert "ekyc_cpu_pool_workers 2" in text


async def test_the_daemon_runs_numpy_on_one_blas_thread(make_settings, make_client, monkeypatch):
    from ekyc.blas import blas_threads, set_blas_threads

    before = blas_threads()
    if before is None:
        pytest.skip("numpy here is not linked to its bundled 64-bit OpenBLAS")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    set_blas_threads(2)
    try:
        async with make_client(make_settings()) as client:
            assert (await client.get("/health/live")).status_code == 200
            assert blas_threads() == 1
    finally:
        set_blas_threads(before)
