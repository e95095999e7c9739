"""schemathesis against the OpenAPI schema, in process on the ASGI app.

Every operation gets a bounded number of generated requests, valid ones and (fewer)
invalid ones; the responses must not be 5xx and must match the schema (status code,
content type, body, headers). Requests to
``/v1/applications`` and ``/v1/staff`` carry a logged-in applicant's session and CSRF token
and a staff token, and half of them name that applicant's real application, so the
fuzzing reaches loanflow instead of stopping at 401 and 404.

schemathesis runs the app's lifespan on its own event-loop thread; the test ends it.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from loanflow.db import create_engine, session_factory
from service.app import create_app
from service.deps import get_clock
from service.settings import Settings
from tests.loanflow.conftest import FakeClock, Mailbox
from tests.loanflow.factories import PASSWORD, activate, ready_to_submit

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("EKYC_FUZZ_EXAMPLES", "20"))  # per operation (~20 s in all)
STAFF_TOKEN = "fuzz-staff-" + "t" * 32
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]
_AUTHENTICATED = ("/v1/applications", "/v1/staff", "/v1/capture")


@pytest.fixture
def fuzz_app(
    make_settings: Callable[..., Settings], clock: FakeClock, db_url: str, mailbox: Mailbox
) -> Iterator[tuple[FastAPI, str, str]]:
    digest = hashlib.sha256(STAFF_TOKEN.encode()).hexdigest()
    app = create_app(make_settings(staff_token_sha256={"fuzzer": digest}))
    app.dependency_overrides[get_clock] = lambda: clock
    engine = create_engine(db_url)
    try:
        db = session_factory(engine)
        applicant, login_id = activate(db, clock, mailbox, "fuzz@example.jp")
        application_id = ready_to_submit(db, clock, applicant)
    finally:
        engine.dispose()
    try:
        yield app, application_id, login_id
    finally:
        asgi.shutdown_lifespans()  # schemathesis keeps the lifespan up until told


def _log_in(app: FastAPI, login_id: str) -> dict[str, str]:
    """Headers of a logged-in applicant (cookie + CSRF) and of a staff member."""
    with asgi.get_client(cast(asgi.ASGIApp, app)) as client:
        response = client.post(
            "http://localhost/v1/mypage/login",
            json={"login_id": login_id, "password": PASSWORD},
        )
    assert response.status_code == 200, response.text
    session = response.cookies.get("__Host-ekyc_session")
    return {
        "Cookie": f"__Host-ekyc_session={session}",
        "X-CSRF-Token": response.json()["csrf_token"],
        "Authorization": f"Bearer {STAFF_TOKEN}",
    }


def test_every_operation_conforms(fuzz_app: tuple[FastAPI, str, str]) -> None:
    app, application_id, login_id = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = _log_in(app, login_id)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) > 40

    for operation in operations:
        headers = auth if operation.path.startswith(_AUTHENTICATED) else {}
        for mode, examples in ((GenerationMode.POSITIVE, EXAMPLES), (GenerationMode.NEGATIVE, 5)):
            try:
                _fuzz(operation, mode, examples, headers, application_id, statuses)
            except Unsatisfiable:  # no parameters or body: nothing to break
                assert mode is GenerationMode.NEGATIVE
            except Exception as error:  # collected: one report for all operations
                failures.append(f"{operation.label} ({mode.value}): {error}")
    counts = sorted(statuses.items())
    print(f"\nschemathesis: {len(operations)} operations, statuses {counts}")  # noqa: T201
    assert statuses[200] + statuses[201] + statuses[204] > 0  # it got past the doors
    assert not failures, "\n\n".join(failures)


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    headers: dict[str, str],
    application_id: str,
    statuses: Counter[int],
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    def check(case: Any, real: bool) -> None:
        if real and "application_id" in (case.path_parameters or {}):
            case.path_parameters["application_id"] = application_id
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] += 1

    check()
