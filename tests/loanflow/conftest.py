"""Fixtures: a fresh migrated database per test (SQLite, and PostgreSQL when configured),
a controllable clock and a real local SMTP server whose received mails the tests read."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from loanflow.db import SessionFactory, create_engine, migrate, session_factory
from loanflow.mail import DeliveryReport, deliver_outbox
from loanflow.tables import Base

POSTGRES_ENV = "EKYC_TEST_POSTGRES_URL"
POSTGRES_SKIP = "EKYC_TEST_POSTGRES_URL not set; scripts/postgres.sh starts a local server"


# ---------------------------------------------------------------- time


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2025, 4, 25, 1, 0, tzinfo=UTC))  # Friday 10:00 JST


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "loanflow.db"
    migrate(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:  # fold the WAL into the file before copying
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not os.environ.get(POSTGRES_ENV), reason=POSTGRES_SKIP),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated to head through Alembic (never ``create_all``): a copy of a
    migrated SQLite file, or a new PostgreSQL schema (``search_path``)."""
    if request.param == "sqlite":
        path = tmp_path / "loanflow.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    base = os.environ[POSTGRES_ENV]
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        migrate(url)  # a schema per test: cheaper than CREATE DATABASE ... TEMPLATE
        yield url.render_as_string(hide_password=False)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's migrated database."""
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> SessionFactory:
    return session_factory(engine)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order: equal snapshots = nothing changed."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


# ---------------------------------------------------------------- mail


@dataclass
class Mailbox:
    """Mails the local SMTP server received, parsed; filled from the server's thread."""

    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    REFUSED_DOMAIN = "@refused.example"  # recipients the server answers 550

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith(self.REFUSED_DOMAIN):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
            self.raw.append(envelope.content)
        return "250 OK"

    def deliver(self, db: SessionFactory, **kwargs: Any) -> DeliveryReport:
        """Run the outbox against this server."""
        return deliver_outbox(db, self.host, self.port, **kwargs)

    def received(self, to_addr: str, subject: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == to_addr and m["Subject"] == subject]

    def last_body(self, to_addr: str, subject: str) -> str:
        found = self.received(to_addr, subject)
        assert found, f"no mail {subject!r} to {to_addr}"
        body = found[-1].get_content()
        assert isinstance(body, str)
        return body

    def code_for(self, to_addr: str) -> str:
        body = self.last_body(to_addr, "【ろうきん】認証コードのご案内")
        match = re.search(r"認証コード：([0-9]{6})$", body, re.MULTILINE)
        assert match, body
        return match.group(1)

    def login_id_for(self, to_addr: str) -> str:
        body = self.last_body(to_addr, "【ろうきん】ログインIDのご案内")
        match = re.search(r"ログインID：([0-9A-Z]{10})$", body, re.MULTILINE)
        assert match, body
        return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    """A real aiosmtpd server on 127.0.0.1 and a free port, for the whole session."""
    mailbox = Mailbox(host="127.0.0.1", port=free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The session's SMTP server, emptied for this test."""
    with smtp_server.lock:
        smtp_server.messages.clear()
        smtp_server.raw.clear()
    return smtp_server
