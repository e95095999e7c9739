"""The application factory: ``create_app(settings)``; no module-level app or engine.

Each call builds a fresh app whose lifespan owns the database engine, the CPU pool, the
preloaded models and the mail timer (``service.runtime``), so tests build one per case
and two apps never share state. ``app_from_env`` is the zero-argument factory for
``uvicorn --factory service.app:app_from_env``; ``python -m service`` does the same with
the settings' host and port.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from ekyc import __version__
from service.capture_sessions import CAPTURE_HEADER
from service.deps import check_origin
from service.errors import PROBLEM_JSON, install_error_handlers
from service.headers import SecurityHeaders
from service.metrics import Metrics
from service.middleware import BodyLimit, RequestContext
from service.routes import applications, capture, ekyc, health, mypage, staff
from service.runtime import running
from service.schemas import ProblemOut
from service.security import CSRF_HEADER
from service.settings import DEV_SECRET, Settings, get_settings

__all__ = ["app_from_env", "create_app"]

_log = logging.getLogger(__name__)
_CAPTURE_PAGE = Path(__file__).parent / "static" / "capture"

_PROBLEMS: dict[int | str, dict[str, object]] = {
    "4XX": {"model": ProblemOut, "description": "Problem details (application/problem+json)"},
    "5XX": {"model": ProblemOut, "description": "Problem details (application/problem+json)"},
}


def create_app(settings: Settings) -> FastAPI:
    """The daemon's ASGI app for ``settings``."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.secret_key.get_secret_value() == DEV_SECRET:
            _log.warning("running with the development secret (EKYC_ENV=development)")
        async with running(settings, metrics) as runtime:
            app.state.runtime = runtime
            yield

    development = settings.env == "development"
    app = FastAPI(
        title="ekyc",
        summary="eKYC and My Page for rokin smartphone loan applications",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if development else None,
        redoc_url=None,
        openapi_url="/openapi.json" if development else None,
        dependencies=[Depends(check_origin)],
        responses=_PROBLEMS,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        per_route=(
            capture.body_limits(settings)
            | ekyc.body_limits(settings)
            | applications.body_limits(settings)
        ),
    )
    app.add_middleware(RequestContext, metrics=metrics)  # sees every error, times everything
    app.add_middleware(  # outside RequestContext: its last-resort 500 gets the headers too
        SecurityHeaders,
        hsts_max_age_s=settings.hsts_max_age_s,
        docs_paths=[app.docs_url, f"{app.docs_url}/oauth2-redirect"] if app.docs_url else [],
    )
    if settings.allowed_origins:  # outermost: even a 500 carries the CORS headers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Content-Type", CSRF_HEADER, CAPTURE_HEADER, "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.include_router(health.router)
    app.include_router(mypage.router)
    app.include_router(applications.router)
    app.include_router(capture.router)
    app.include_router(ekyc.router)
    app.include_router(staff.router)
    app.openapi = functools.partial(_openapi_with_problems, app)  # type: ignore[method-assign]
    # The reference capture page: plain HTML/JS, no build step (service/static/capture).
    app.mount("/capture", StaticFiles(directory=_CAPTURE_PAGE, html=True), name="capture-page")
    return app


def _openapi_with_problems(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema with the error responses under the media type they are sent as.

    FastAPI files a response ``model`` under ``application/json``; problems are sent as
    ``application/problem+json`` (RFC 9457), and the schema should say so.
    """
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        app.openapi_schema = schema
    return app.openapi_schema


def app_from_env() -> FastAPI:
    """``create_app`` with the settings of the environment (``EKYC_*``)."""
    return create_app(get_settings())
