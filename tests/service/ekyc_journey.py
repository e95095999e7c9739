"""The eKYC capture journey over HTTP: a submitted application and its mailed URL token."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from loanflow import applications
from loanflow.db import create_engine, session_factory
from service.capture_sessions import CAPTURE_HEADER
from tests.factories import encode, scene
from tests.loanflow.conftest import FakeClock, Mailbox
from tests.loanflow.factories import activate, ready_to_submit
from tests.loanflow.test_applications import ekyc_token

EMAIL = "hanako@example.jp"


def submitted_token(db_url: str, clock: FakeClock, mailbox: Mailbox, email: str = EMAIL) -> str:
    """Submit a full application straight through loanflow; the token of the mailed URL."""
    engine = create_engine(db_url)
    try:
        db = session_factory(engine)
        applicant, _ = activate(db, clock, mailbox, email)
        application_id = ready_to_submit(db, clock, applicant)
        applications.submit(db, applicant, application_id, clock=clock)
        mailbox.deliver(db)
    finally:
        engine.dispose()
    return ekyc_token(mailbox, email)


def count_rows(db_url: str, table: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    finally:
        engine.dispose()


def jpeg(width: int = 640, height: int = 400, seed: int = 7) -> bytes:
    return encode(scene(width, height, seed), "JPEG", quality=85)


async def open_capture(client: httpx.AsyncClient, token: str) -> dict[str, str]:
    """Open a capture window; the headers that carry its token."""
    response = await client.post("/v1/ekyc/sessions", json={"token": token})
    assert response.status_code == 201, response.text
    return {CAPTURE_HEADER: response.json()["capture_token"]}


async def post_shot(
    client: httpx.AsyncClient, headers: dict[str, str], shot: str, data: bytes | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/ekyc/shot/{shot}",
        content=jpeg() if data is None else data,
        headers=headers | {"Content-Type": "image/jpeg"},
    )
