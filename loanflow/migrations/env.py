"""Alembic environment: runs on the connection that ``loanflow.db.migrate(url)`` passes in.

Without one (the Alembic CLI), it connects to the config's ``sqlalchemy.url``, or to
``loanflow.db.DEFAULT_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from loanflow import application_tables  # noqa: F401 (registers its tables on Base)
from loanflow.db import DEFAULT_URL, create_engine
from loanflow.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if isinstance(connection, Connection):
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or DEFAULT_URL
    engine = create_engine(url)
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url") or DEFAULT_URL,
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_online()
