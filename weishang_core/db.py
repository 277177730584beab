"""One engine and one session factory per database URL; SQLite is tuned to behave like a server."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from weishang_core import private_files
from weishang_core.errors import UserError
from weishang_core.validation import is_ascii_whole

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the store read while a worker writes; foreign keys are off in SQLite unless asked for.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs, since that is the driver weishang installs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    url = normalize_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"database URL: {url!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_files.create_database_file(Path(parsed.database))  # outlet secrets, the signing key
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size())
    except ModuleNotFoundError as exc:
        raise UserError(
            f"database URL: {parsed.get_backend_name()} needs the Python driver {exc.name!r}, which is not "
            "installed; pip install 'psycopg[binary]' (weishang installs it by default)"
        ) from None


def pool_size() -> int:
    """Connections a process keeps open to PostgreSQL (``WEISHANG_DB_POOL_SIZE``, default 5). Size it to the
    threads that use the database at once: a connection beyond the pool is opened and closed around each
    use, and every PostgreSQL connection is a new server process. ``weishang worker`` sizes it to its
    concurrency."""
    value = os.environ.get("WEISHANG_DB_POOL_SIZE", "5")
    if not is_ascii_whole(value) or int(value) < 1:
        raise UserError(f"WEISHANG_DB_POOL_SIZE: {value!r} is not a whole number of connections (1 or more)")
    return int(value)


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker  # the ORM, imported by the commands that use it (not by --help)

    return sessionmaker(get_engine(url), expire_on_commit=False)


def rows_changed(session: Session, statement: Executable) -> int:
    """Run a conditional UPDATE and say how many rows it changed: the check that makes a money change happen once."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
