"""My Page: terms, registration, emailed code, password (login ID mailed), login, logout.

The journey, as the front end calls it::

    POST /v1/mypage/terms-opened             -> terms_open_id
    POST /v1/mypage/registrations            -> registration session + CSRF token; code mailed
    POST /v1/mypage/registration/code        (or .../code/reissue for a new one)
    POST /v1/mypage/registration/password    -> login ID mailed; the session ends
    POST /v1/mypage/login                    -> applicant session + CSRF token
    GET  /v1/mypage/session                  -> the session's scope and CSRF token
    POST /v1/mypage/logout

No route takes an applicant id: it comes from the session. The routes are plain ``def``:
loanflow is synchronous (database, argon2), so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response

from loanflow import accounts, mypage
from loanflow.clock import Clock
from service.deps import (
    ClockDep,
    CurrentSession,
    DbDep,
    HasherDep,
    RegistrationApplicant,
    RuntimeDep,
    rate_limit,
)
from service.runtime import Runtime
from service.schemas import (
    CodeIn,
    CodeIssuedOut,
    LoginIn,
    PasswordIn,
    RegistrationIn,
    SessionOut,
    TermsOpenedOut,
)
from service.security import (
    SESSION_COOKIE,
    Scope,
    clear_session_cookies,
    csrf_token,
    set_session_cookies,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/mypage", tags=["mypage"])

_codes = [Depends(rate_limit("codes"))]
_login = [Depends(rate_limit("login"))]


def _csrf(runtime: Runtime, session_token: str) -> str:
    return csrf_token(runtime.settings.secret_key.get_secret_value().encode(), session_token)


def _start_session(
    request: Request,
    response: Response,
    runtime: Runtime,
    applicant_id: str,
    scope: Scope,
    clock: Clock,
) -> SessionOut:
    """A fresh session id (never the one presented: no fixation), cookies set."""
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        runtime.sessions.revoke(previous)
    token = runtime.sessions.create(applicant_id, scope, now=clock.now())
    csrf = _csrf(runtime, token)
    set_session_cookies(response, token, csrf)
    return SessionOut(scope=scope, csrf_token=csrf)


@router.post("/terms-opened", status_code=201)
def open_terms(db: DbDep, clock: ClockDep) -> TermsOpenedOut:
    """Record that the My Page terms were shown; the registration form names the receipt."""
    return TermsOpenedOut.of(mypage.record_terms_opened(db, clock=clock))


@router.post("/registrations", status_code=201, dependencies=_codes)
def register(
    form: RegistrationIn,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> CodeIssuedOut:
    """Create the My Page and mail its code; the browser gets a registration session."""
    issued = mypage.register(runtime.db, form.to_registration(), clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    session = _start_session(
        request, response, runtime, issued.applicant_id, Scope.REGISTRATION, clock
    )
    return CodeIssuedOut(**session.model_dump(), code_expires_at=issued.code_expires_at)


@router.post("/registration/code", status_code=204, dependencies=_codes)
def verify_code(
    body: CodeIn, applicant_id: RegistrationApplicant, db: DbDep, clock: ClockDep
) -> None:
    """Accept the mailed code (wrong tries are counted: five kill the code)."""
    mypage.verify_registration_code(db, applicant_id, body.code, clock=clock)


@router.post("/registration/code/reissue", status_code=201, dependencies=_codes)
def reissue_code(
    applicant_id: RegistrationApplicant,
    session: CurrentSession,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    clock: ClockDep,
) -> CodeIssuedOut:
    """Mail a new code; earlier ones stop working."""
    issued = mypage.reissue_registration_code(runtime.db, applicant_id, clock=clock)
    background.add_task(runtime.mailer.deliver, clock)
    return CodeIssuedOut(
        scope=session.record.scope,
        csrf_token=_csrf(runtime, session.token),
        code_expires_at=issued.code_expires_at,
    )


@router.post("/registration/password", status_code=204)
def set_password(
    body: PasswordIn,
    applicant_id: RegistrationApplicant,
    session: CurrentSession,
    response: Response,
    background: BackgroundTasks,
    runtime: RuntimeDep,
    hasher: HasherDep,
    clock: ClockDep,
) -> None:
    """Set the password; the login ID is mailed and the registration session ends."""
    accounts.set_password(
        runtime.db,
        applicant_id,
        body.password,
        body.password_confirmation,
        clock=clock,
        hasher=hasher,
    )
    background.add_task(runtime.mailer.deliver, clock)
    runtime.sessions.revoke(session.token)
    clear_session_cookies(response)


@router.post("/login", dependencies=_login)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    hasher: HasherDep,
    clock: ClockDep,
) -> SessionOut:
    """Log in with the mailed login ID and the password (five failures lock for 30 min)."""
    done = accounts.login(runtime.db, body.login_id, body.password, clock=clock, hasher=hasher)
    return _start_session(request, response, runtime, done.applicant_id, Scope.APPLICANT, clock)


@router.get("/session")
def current(session: CurrentSession, runtime: RuntimeDep) -> SessionOut:
    """The session's scope and CSRF token (for a page reloaded mid-journey)."""
    return SessionOut(scope=session.record.scope, csrf_token=_csrf(runtime, session.token))


@router.post("/logout", status_code=204)
def logout(session: CurrentSession, response: Response, runtime: RuntimeDep) -> None:
    """End the session."""
    runtime.sessions.revoke(session.token)
    clear_session_cookies(response)
