"""Migrations are the only way a schema is made, so they must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from weishang_core import migrate
from weishang_core.db import get_engine
from weishang_core.models import Base


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    engine = get_engine(db_url)
    before, after = migrate.upgrade(engine)
    assert (before, after) == (None, migrate.head_revision())
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata)
    assert diff == []
    assert migrate.upgrade(engine) == (after, after)


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
