"""Fixtures: an app per test on a migrated SQLite copy, the real local SMTP server, a fake clock.

The database, SMTP and clock fixtures are loanflow's (imported, not copied). Clients are
``httpx.AsyncClient`` over ``httpx.ASGITransport`` (starlette's TestClient warns about
httpx), with the app's lifespan entered around each test; tests run on anyio's plugin.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.app import create_app
from service.deps import get_clock
from service.settings import RateLimit, Settings
from tests.loanflow.conftest import FakeClock, Mailbox
from tests.loanflow.conftest import clock as clock
from tests.loanflow.conftest import mailbox as mailbox
from tests.loanflow.conftest import smtp_server as smtp_server
from tests.loanflow.conftest import sqlite_template as sqlite_template

# Secure cookies travel over https only, as in a browser.
BASE_URL = "https://testserver"
SECRET = "test-secret-" + "x" * 40
GENEROUS = RateLimit(per_minute=6000, burst=1000)


@pytest.fixture
def db_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A copy of the migrated SQLite template."""
    path = tmp_path / "loanflow.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_settings(tmp_path: Path, db_url: str, mailbox: Mailbox) -> Callable[..., Settings]:
    """Test settings; keyword arguments override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "env": "development",
            "secret_key": SECRET,
            "state_dir": tmp_path / "state",
            "database_url": db_url,
            "migrate_on_start": False,
            "smtp_host": mailbox.host,
            "smtp_port": mailbox.port,
            "mail_retry_interval_s": 0,
            "argon2_time_cost": 1,
            "argon2_memory_kib": 8,
            "argon2_parallelism": 1,
            "preload_models": False,
            "workers": 2,
            "rate_codes": GENEROUS,
            "rate_login": GENEROUS,
            "rate_frames": GENEROUS,
            "rate_challenge": GENEROUS,
            "max_upload_bytes": 256 * 1024,
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_clock] = lambda: clock
    return app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def browser(app: FastAPI) -> httpx.AsyncClient:
    """A client with its own cookie jar, talking to ``app`` in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give a browser on it."""
    async with app.router.lifespan_context(app), browser(app) as client:
        yield client


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on the test's app, running for the test."""
    async with serving(app) as client:
        yield client


@pytest.fixture
def make_client(
    clock: FakeClock,
) -> Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """For tests that need other settings: ``async with make_client(settings) as client``."""

    def make(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        app = create_app(settings)
        app.dependency_overrides[get_clock] = lambda: clock
        return serving(app)

    return make


@pytest.fixture
async def other_client(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same running app."""
    async with browser(app) as other:
        yield other


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives headless Chromium (needs EKYC_CHROMIUM, EKYC_CHROMEDRIVER)"
    )
