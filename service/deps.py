"""Dependencies as ``Annotated`` aliases, so a route reads as prose::

    def login(form: LoginIn, db: DbDep, clock: ClockDep, hasher: HasherDep) -> ...

Everything comes from the ``Runtime`` that the lifespan built for this app, except the
clock, which tests replace through ``app.dependency_overrides[get_clock]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from fastapi import Depends, Request

from loanflow.clock import Clock, SystemClock
from loanflow.db import SessionFactory
from service.errors import CsrfFailed, NotAuthenticated, RateLimited
from service.middleware import route_template
from service.runtime import Models, Runtime
from service.security import (
    CSRF_HEADER,
    SESSION_COOKIE,
    Scope,
    SessionRecord,
    csrf_valid,
    staff_for_token,
)
from service.settings import Settings
from service.workers import CpuPool

__all__ = [
    "ActiveSession",
    "ClockDep",
    "CpuPoolDep",
    "CurrentApplicant",
    "CurrentSession",
    "CurrentStaff",
    "DbDep",
    "HasherDep",
    "ModelsDep",
    "RegistrationApplicant",
    "RuntimeDep",
    "SettingsDep",
    "check_origin",
    "get_clock",
    "get_runtime",
    "rate_limit",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_runtime(request: Request) -> Runtime:
    """The runtime of the app serving ``request``."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_settings(runtime: RuntimeDep) -> Settings:
    """The settings the app was created with."""
    return runtime.settings


def get_db(runtime: RuntimeDep) -> SessionFactory:
    """The loanflow session factory."""
    return runtime.db


def get_clock() -> Clock:
    """The real clock (tests override this dependency)."""
    return SystemClock()


def get_hasher(runtime: RuntimeDep) -> PasswordHasher:
    """The argon2id hasher configured by the settings."""
    return runtime.hasher


def get_pool(runtime: RuntimeDep) -> CpuPool:
    """The CPU pool for image work."""
    return runtime.pool


def get_models(runtime: RuntimeDep) -> Models:
    """The preloaded models."""
    return runtime.models


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[SessionFactory, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
HasherDep = Annotated[PasswordHasher, Depends(get_hasher)]
CpuPoolDep = Annotated[CpuPool, Depends(get_pool)]
ModelsDep = Annotated[Models, Depends(get_models)]


def check_origin(request: Request, settings: SettingsDep) -> None:
    """Refuse a state change a browser sent from a foreign origin (every route runs this)."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own and origin not in settings.allowed_origins:
            raise CsrfFailed("requests from this origin are not accepted")
    elif request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfFailed("cross-site requests are not accepted")


@dataclass(frozen=True, slots=True)
class ActiveSession:
    """The session a request rides on: its cookie value and its record."""

    token: str
    record: SessionRecord


def current_session(request: Request, runtime: RuntimeDep, clock: ClockDep) -> ActiveSession:
    """The request's live session; a state change must also carry its CSRF token."""
    token = request.cookies.get(SESSION_COOKIE)
    record = runtime.sessions.get(token, now=clock.now()) if token else None
    if token is None or record is None:
        raise NotAuthenticated("no session, or it has expired: please log in again")
    if request.method not in SAFE_METHODS:
        secret = runtime.settings.secret_key.get_secret_value().encode()
        if not csrf_valid(secret, token, request.headers.get(CSRF_HEADER)):
            raise CsrfFailed(f"the {CSRF_HEADER} header is missing or wrong")
    return ActiveSession(token, record)


CurrentSession = Annotated[ActiveSession, Depends(current_session)]


def _applicant_in(scope: Scope) -> Callable[[ActiveSession], str]:
    def applicant_id(session: CurrentSession) -> str:
        if session.record.scope is not scope:
            raise NotAuthenticated(f"this step needs a {scope} session")
        return session.record.applicant_id

    return applicant_id


RegistrationApplicant = Annotated[str, Depends(_applicant_in(Scope.REGISTRATION))]
"""The applicant id of a registration in progress (code and password steps)."""
CurrentApplicant = Annotated[str, Depends(_applicant_in(Scope.APPLICANT))]
"""The applicant id of a logged-in session."""


def current_staff(request: Request, settings: SettingsDep) -> str:
    """The staff id of a valid ``Authorization: Bearer`` token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    staff_id = None
    if scheme.lower() == "bearer" and token:
        staff_id = staff_for_token(token.strip(), settings.staff_token_sha256)
    if staff_id is None:
        raise NotAuthenticated("a valid staff API token is required")
    return staff_id


CurrentStaff = Annotated[str, Depends(current_staff)]


def rate_limit(group: str) -> Callable[[Request, Runtime], None]:
    """A dependency spending one token of ``group`` for (client address, route)."""

    def spend(request: Request, runtime: RuntimeDep) -> None:
        route = route_template(request.scope)
        client = request.client.host if request.client else "unknown"
        wait_s = runtime.rate_limits[group].take(f"{client} {route}")
        if wait_s is not None:
            runtime.metrics.event("rate_limited", route)
            raise RateLimited(
                "too many requests: please wait and retry", retry_after_s=round(wait_s, 1)
            )

    return spend
