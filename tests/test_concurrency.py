"""Real concurrency on PostgreSQL: many buyers, few units."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures import Services
from weishang_core import catalog, identities, orders, referrals
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


def test_imports_and_single_orders_at_once_share_ids_and_stock_without_a_clash(pg_url: str, tmp_path: Path) -> None:
    """Two order files imported while buyers order one by one: every order lands once, with its own id."""
    from weishang_core import order_import
    from weishang_core.models import LedgerEntry, OrderLine, utcnow

    services = Services(pg_url, tmp_path)
    with services.maker.begin() as session:
        catalog.add(session, services.settings, "KIWI", ProductInput(title="t", price="39.90", stock=1_000,
                                                                     commission="L1=10%"))  # fmt: skip
        identities.add_reseller(session, "勤妹子", "老李")
        code = referrals.create_link(session, identities.get(session, "勤妹子")).code
    files = []
    for batch in ("A", "B"):
        path = tmp_path / f"{batch}.csv"
        path.write_text("key,sku,qty,buyer,ref\n" + "".join(f"{batch}{n},KIWI,1,{batch}-buyer-{n},{code}\n"
                                                             for n in range(300)), encoding="utf-8")  # fmt: skip
        files.append(str(path))

    def import_file(path: str) -> int:
        now = utcnow()
        rows = order_import.read_csv(path, services.settings, now)
        with services.maker.begin() as session:
            return order_import.import_orders(session, services.settings, rows, now).orders

    def buy(n: int) -> None:
        with services.maker.begin() as session:
            orders.create(session, services.settings, "KIWI", 1, f"walk-in-{n}", ref=code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        imported = [pool.submit(import_file, path) for path in files]
        list(pool.map(buy, range(40)))
        assert [f.result() for f in imported] == [300, 300]
    with services.maker() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 640
        assert session.scalar(select(func.count(func.distinct(OrderLine.order_id)))) == 640
        assert session.scalar(select(Product.stock)) == 1_000 - 640
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 600  # the imported ones are paid
