"""Row locks that hold on PostgreSQL and SQLite alike, so a check-then-write runs once at a time per row.

PostgreSQL locks the row (``SELECT … FOR UPDATE``): a second transaction waits there until the first
commits, then reads what it wrote. SQLite has no row locks, and its driver starts a transaction only at
the first write, so reads before that see the database as it was; a no-op ``UPDATE`` of the row takes
SQLite's single write lock (waiting ``busy_timeout`` for it), after which reads are current. Either way
the row is read again after the lock, and every check is made on what was read then.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session


def lock(session: Session, row: Any) -> Any:
    """Lock ``row`` until the transaction ends and reload it; call before any change to it."""
    mapper = inspect(type(row))
    key = inspect(row).identity
    where = [column == value for column, value in zip(mapper.primary_key, key, strict=True)]
    if session.get_bind().dialect.name == "sqlite":
        touched = next(c for c in mapper.columns if not c.primary_key)
        statement = update(mapper.local_table).where(*where).values({touched.name: touched})
        session.execute(statement, execution_options={"synchronize_session": False})
    else:
        session.execute(select(*mapper.primary_key).where(*where).with_for_update())
    session.refresh(row)
    return row
