"""Real concurrency on PostgreSQL: many buyers, few units."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures import Services
from weishang_core import catalog, orders
from weishang_core.catalog import ProductInput
from weishang_core.errors import UserError
from weishang_core.models import Order, Product


def test_fifty_buyers_for_the_last_ten_units(pg_url: str, tmp_path: Path) -> None:
    services = Services(pg_url, tmp_path)
    with services.maker.begin() as session:
        catalog.add(session, services.settings, "KIWI", ProductInput(title="t", price="39.90", stock=10))

    def buy(n: int) -> bool:
        try:
            with services.maker.begin() as session:
                orders.create(session, services.settings, "KIWI", 1, f"buyer-{n}")
            return True
        except UserError:
            return False

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(buy, range(50)))
    assert outcomes.count(True) == 10
    with services.maker() as session:
        assert session.scalar(select(Product.stock)) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == 10
