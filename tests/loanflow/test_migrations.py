"""The schema comes from the migrations, matches the models, and guards the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from loanflow import audit
from loanflow.db import SessionFactory, alembic_config, create_engine, migrate, transaction
from loanflow.tables import AppendOnlyViolation, AuditEntry, Base

NOW = datetime(2025, 4, 25, 1, 0, tzinfo=UTC)


def _add_audit_row(db: SessionFactory) -> int:
    with transaction(db) as session:
        entry = audit.record(
            session, at=NOW, actor="system", action="test.done", subject_type="t", subject_id="1"
        )
        session.flush()
        return entry.id


class TestMigrations:
    def test_models_match_migrations(self, engine: Engine) -> None:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []

    def test_downgrade_to_base_and_back(self, db_url: str) -> None:
        migrate(db_url)
        engine = create_engine(db_url)
        try:
            with engine.begin() as connection:
                config = alembic_config()
                config.attributes["connection"] = connection
                command.downgrade(config, "base")
            assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
            migrate(db_url)  # idempotent from any revision
            migrate(db_url)
            assert set(sa.inspect(engine).get_table_names()) >= {
                t.name for t in Base.metadata.sorted_tables
            }
        finally:
            engine.dispose()

    def test_sqlite_pragmas(self, engine: Engine) -> None:
        if engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"

    def test_foreign_keys_are_enforced(self, db: SessionFactory) -> None:
        with pytest.raises(sa.exc.IntegrityError), transaction(db) as session:
            session.execute(
                sa.text(
                    "INSERT INTO credentials (applicant_id, login_id, password_hash,"
                    " failed_logins, issued_at, password_changed_at)"
                    " VALUES ('missing', 'ABCDEFGHJK', 'x', 0, :now, :now)"
                ),
                {"now": NOW},
            )


class TestAuditLogIsAppendOnly:
    def test_orm_update_refused(self, db: SessionFactory, engine: Engine) -> None:
        entry_id = _add_audit_row(db)

        def rewrite() -> None:
            with transaction(db) as session:
                entry = session.get(AuditEntry, entry_id)
                assert entry is not None
                entry.action = "rewritten"

        def delete() -> None:
            with transaction(db) as session:
                session.delete(session.get(AuditEntry, entry_id))

        with pytest.raises(AppendOnlyViolation):
            rewrite()
        with pytest.raises(AppendOnlyViolation):
            delete()
        with engine.connect() as connection:
            assert connection.scalar(sa.select(AuditEntry.action)) == "test.done"

    @pytest.mark.parametrize(
        "statement",
        ["UPDATE audit_log SET action = 'rewritten'", "DELETE FROM audit_log"],
    )
    def test_sql_refused_by_the_database(
        self, db: SessionFactory, engine: Engine, statement: str
    ) -> None:
        _add_audit_row(db)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1
            assert connection.scalar(sa.select(AuditEntry.action)) == "test.done"

    def test_truncate_refused_on_postgresql(self, db: SessionFactory, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (SQLite has no TRUNCATE)")
        _add_audit_row(db)
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE audit_log")
