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


def test_the_schema_check_knows_the_newest_revision_and_reads_it_as_alembic_does(db_url: str) -> None:
    """Commands check the schema without Alembic; a new migration must move ``HEAD`` with it."""
    assert migrate.head_revision() == migrate.HEAD
    engine = get_engine(db_url)
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current_revision(engine) == MigrationContext.configure(connection).get_current_revision()


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path) -> None:
    engine = get_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_database_made_by_an_earlier_release_is_upgraded_with_its_data(db_url: str) -> None:
    from alembic import command
    from sqlalchemy import text

    engine = get_engine(db_url)
    config = migrate._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO identities (handle, is_seller, is_reseller, depth, created_at)"
                " VALUES ('老李', true, false, 0, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    assert migrate.upgrade(engine) == ("0001", migrate.head_revision())
    with engine.connect() as connection:
        row = connection.execute(text("SELECT handle, is_seller, is_staff FROM identities")).one()
    assert (row.handle, bool(row.is_seller), bool(row.is_staff)) == ("老李", True, False)


def test_orders_are_rewritten_in_place_on_postgresql(db_url: str) -> None:
    """Each step of an order's life rewrites its row: with room on the page and no index on a changed column,
    PostgreSQL does it without touching any index."""
    from sqlalchemy import inspect, text

    engine = get_engine(db_url)
    migrate.upgrade(engine)
    indexed = {column for index in inspect(engine).get_indexes("orders") for column in index["column_names"]}
    assert not indexed & {"status", "paid_at", "shipped_at", "delivered_at", "completed_at"}
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            options = connection.execute(text("SELECT reloptions FROM pg_class WHERE relname = 'orders'")).scalar()
        assert options == ["fillfactor=50"]


def test_orders_placed_before_holds_existed_keep_their_stock_after_the_upgrade(db_url: str) -> None:
    """0005 adds the hold deadline and the idempotency hash: an order of an earlier release keeps every
    field, has no deadline (it waits for the seller, as before), and its old key stays where it was."""
    from alembic import command
    from sqlalchemy import text

    engine = get_engine(db_url)
    config = migrate._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(
            text(
                "INSERT INTO identities (handle, is_seller, is_reseller, is_staff, depth, created_at)"
                " VALUES ('張三', false, false, false, 0, :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
        connection.execute(
            text(
                "INSERT INTO orders (buyer_id, status, total_fen, paid_fen, refunded_fen, idempotency_key, created_at)"
                " VALUES (1, 'pending', 3990, 0, 0, 'form-123456', :t)"
            ),
            {"t": "2026-01-01 00:00:00"},
        )
    assert migrate.upgrade(engine) == ("0004", migrate.head_revision())
    with engine.connect() as connection:
        row = connection.execute(text("SELECT status, total_fen, idempotency_key, idempotency_hash, expires_at"
                                      " FROM orders")).one()  # fmt: skip
        assert connection.execute(text("SELECT count(*) FROM form_nonces")).scalar() == 0
    assert tuple(row) == ("pending", 3990, "form-123456", None, None)
