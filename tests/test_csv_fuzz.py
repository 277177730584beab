"""Any file a seller might feed the CSV imports is imported or refused with a named problem, never half-written."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from weishang_core import catalog, order_import
from weishang_core.catalog import ProductInput
from weishang_core.errors import UserError
from weishang_core.models import LedgerEntry, Order, Product, utcnow


def field(*valid: str) -> st.SearchStrategy[str]:
    """Mostly a plausible value, one time in five anything at all (quotes, commas, newlines, NULs, RTL, emoji)."""
    return st.integers(0, 4).flatmap(lambda n: st.text(max_size=12) if n == 0 else st.sampled_from(valid))


order_row = st.tuples(
    field("A1", "B2", "C3", "訂單-7"), field("KIWI"), field("1", "3"),
    field("張三", "李四", " 王五 "), field("", "2026-11-01T10:00", "2026-11-01T10:00+08:00"),
)  # fmt: skip
product_row = st.tuples(
    field("KIWI", "PEAR-2", "FIG"), field("奇異果"), field("39.90", "0.01"), field("", "5"),
    field("", "L1=10%,L2=3%"),
)  # fmt: skip
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(header: list[str], rows: list[tuple[str, ...]]) -> str:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    path = Path(tempfile.mkdtemp()) / "file.csv"
    path.write_bytes(text.getvalue().encode("utf-8", "surrogatepass"))
    return str(path)


def counts(session) -> tuple[int, int, int, int]:
    stock = session.scalar(select(func.sum(Product.stock))) or 0
    return (
        session.scalar(select(func.count()).select_from(Order)),
        session.scalar(select(func.count()).select_from(LedgerEntry)),
        session.scalar(select(func.count()).select_from(Product)),
        stock,
    )


def refused_cleanly(services, attempt) -> None:
    """Run ``attempt`` in a transaction: it succeeds, or fails with a UserError and changes nothing."""
    with services.maker() as session:
        before = counts(session)
    session = services.maker()
    try:
        attempt(session)
        session.commit()
    except UserError as exc:
        session.rollback()
        assert str(exc) and "\n" not in str(exc) and "Traceback" not in str(exc)
        with services.maker() as check:
            assert counts(check) == before
    finally:
        session.close()


@FUZZ
@given(rows=st.lists(order_row, min_size=1, max_size=4))
def test_any_order_file_is_imported_or_refused_cleanly(services, rows) -> None:
    with services.maker.begin() as session:
        if catalog.find(session, "KIWI") is None:
            catalog.add(session, services.settings, "KIWI", ProductInput(title="奇異果", price="39.90", stock=100))
    path = write(["key", "sku", "qty", "buyer", "paid_at"], rows)

    def attempt(session) -> None:
        now = utcnow()
        parsed = order_import.read_csv(path, services.settings, now)
        order_import.import_orders(session, services.settings, parsed, now)

    refused_cleanly(services, attempt)


@FUZZ
@given(rows=st.lists(product_row, min_size=1, max_size=4))
def test_any_product_file_is_imported_or_refused_cleanly(services, rows) -> None:
    path = write(["sku", "title", "price", "stock", "commission"], rows)
    refused_cleanly(services, lambda session: catalog.import_csv(session, services.settings, path))
