"""Writing many rows at once, inside the session's transaction, for imports.

Ids are taken up front (from the table's sequence on PostgreSQL; above the largest id on SQLite, once
the transaction holds SQLite's single write lock), so rows can point at each other without a round trip
per row. Rows are then streamed with ``COPY`` on PostgreSQL and one ``executemany`` elsewhere. Defaults and
type conversions (aware UTC times stored naive) are the columns' own, applied here as the ORM would.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ColumnElement, FromClause, Select, Table, any_, bindparam, func, select, text
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.types import ARRAY

from weishang_core.errors import UserError


def reserve_ids(session: Session, of: FromClause, count: int) -> list[int]:
    """``count`` unused ids for a model's table, in increasing order, safe against concurrent writers."""
    if count <= 0:
        return []
    table = cast(Table, of)  # a model's __table__ is typed as a FromClause
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        query = text(  # the sequence looked up once, not per row (that made it eight times slower)
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(:table, 'id')::regclass AS seq) "
            "SELECT nextval(s.seq) FROM s, generate_series(1, :n)"
        )
        return sorted(connection.execute(query, {"table": table.name, "n": count}).scalars().all())
    if connection.dialect.name != "sqlite":
        raise UserError(f"database: bulk writes need SQLite or PostgreSQL, not {connection.dialect.name}")
    # A write that changes nothing takes SQLite's write lock now, so no other writer can take these ids.
    connection.execute(text(f'UPDATE "{table.name}" SET id = id WHERE 0'))
    top = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(top + 1, top + 1 + count))


def rows_among(
    session: Session,
    query: Select[*tuple[Any, ...]],
    column: ColumnElement[Any] | QueryableAttribute[Any],
    values: list[Any],
) -> list[Any]:
    """``query``'s rows whose ``column`` is one of ``values``: one ``= ANY(array)`` on PostgreSQL (a single
    parameter, however many values), chunks of ``IN`` elsewhere."""
    if not values:
        return []
    if session.connection().dialect.name == "postgresql":
        return list(session.execute(query.where(column == any_(bindparam("among", values, type_=ARRAY(column.type))))))
    found: list[Any] = []
    for start in range(0, len(values), 500):
        found.extend(session.execute(query.where(column.in_(values[start : start + 500]))))
    return found


def write_rows(session: Session, into: FromClause, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys) into a model's table, filling the columns' Python defaults."""
    if not rows:
        return
    table = cast(Table, into)  # a model's __table__ is typed as a FromClause
    connection = session.connection()
    dialect = connection.dialect
    given = list(rows[0])
    defaulted = [c for c in table.columns if c.name not in given and c.default is not None]
    defaults = {c.name: c.default.arg(None) if c.default.is_callable else c.default.arg for c in defaulted}  # type: ignore[union-attr]
    if dialect.name != "postgresql":
        connection.execute(table.insert(), [row | defaults for row in rows])
        return
    columns = [table.c[name] for name in given] + defaulted
    convert = [(i, _remembered(p)) for i, c in enumerate(columns) if (p := c.type.bind_processor(dialect))]
    take = itemgetter(*given)
    names = ", ".join(f'"{c.name}"' for c in columns)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
        tail = [defaults[c.name] for c in defaulted]
        for row in rows:
            values = [*take(row), *tail] if len(given) > 1 else [take(row), *tail]
            for i, process in convert:
                values[i] = process(values[i])
            copy.write_row(values)


def _remembered(process: Any) -> Any:
    """A column's conversion, done once per distinct value (imports repeat the same few times and codes)."""
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable (JSON)
            return process(value)

    return convert
