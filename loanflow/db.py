"""Engines, sessions and transactions; no module-level engine (callers and tests build their own).

SQLite is the default database and PostgreSQL (through psycopg 3) the scale-out one; the
same migrations and the same code run on both.

SQLite connections get ``foreign_keys=ON`` and the WAL journal (readers do not block the
writer), and every transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock
up front, so read-modify-write steps such as counting wrong codes cannot interleave. On
PostgreSQL the same steps lock their rows with ``SELECT ... FOR UPDATE``.

Example::

    migrate("sqlite:///loanflow.db")
    engine = create_engine("sqlite:///loanflow.db")
    db = session_factory(engine)
    with transaction(db) as session:
        ...
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DEFAULT_URL",
    "SessionFactory",
    "alembic_config",
    "create_engine",
    "migrate",
    "session_factory",
    "transaction",
]

DEFAULT_URL = "sqlite:///loanflow.db"

SessionFactory = sessionmaker[Session]


def create_engine(url: str | URL = DEFAULT_URL, *, echo: bool = False) -> Engine:
    """An engine for ``url`` with the per-database settings described in the module.

    Args:
        url: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host:port/db``.
        echo: Log every SQL statement (debugging only).

    Returns:
        The engine; call ``dispose()`` when done with it.
    """
    url = sa.make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, echo=echo)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return sa.create_engine(url, echo=echo, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Take transaction control away from the sqlite3 module, which would otherwise
    # start transactions lazily at the first write (after the reads they depend on).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> SessionFactory:
    """Sessions bound to ``engine``; objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(db: SessionFactory) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back if it raises.

    Every state change of the workflow happens inside exactly one of these, together
    with its audit row and its outgoing mails, so a crash leaves the old or the new
    state and never half of one.
    """
    with db.begin() as session:
        yield session


def alembic_config() -> Config:
    """The Alembic configuration of ``loanflow/migrations`` (no ini file needed)."""
    config = Config()
    location = resources.files("loanflow") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def migrate(url: str | URL = DEFAULT_URL, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (the latest by default)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()
