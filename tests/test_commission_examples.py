"""Worked examples from well-known affiliate systems' documentation, and the query-count guarantee."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, event, insert, select, update

from weishang_core import catalog, identities, ledger, orders, referrals
from weishang_core.catalog import ProductInput
from weishang_core.models import Identity, LedgerEntry


def sell(services, price: str, rule: str, qty: int = 1, depth: int = 2) -> list[tuple[str, int, int]]:
    """One order through a chain A (under the seller) → B → buyer; returns (who, level, fen) entries."""
    with services.maker.begin() as session:
        sku = f"P{abs(hash((price, rule, qty))) % 10**8}"
        catalog.add(session, services.settings, sku, ProductInput(title="t", price=price, stock=100, commission=rule))
        if identities.find(session, "A") is None:
            identities.add_reseller(session, "A", "老李")
            identities.add_reseller(session, "B", "A")
        referrer = identities.get(session, "B" if depth == 2 else "A")
        order = orders.create(
            session, services.settings, sku, qty, "buyer", ref=referrals.create_link(session, referrer).code
        )
        orders.pay(session, services.settings, order)
        return [
            (identities_handle(session, e.beneficiary_id), e.level, e.amount_fen)
            for e in session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order.id))
        ]


def identities_handle(session, identity_id: int) -> str:
    return session.get(Identity, identity_id).handle


def test_two_levels_on_a_hundred(services) -> None:
    # TUNE/HasOffers referral commission docs: "$100 in payout x 5% = $5 commission"; the issue's own
    # example: a 100.00 order with L1 10% and L2 5% pays 10.00 and 5.00.
    assert sell(services, "100.00", "L1=10%,L2=5%") == [("B", 1, 1000), ("A", 2, 500)]


def test_flat_rate_per_item(services) -> None:
    # TUNE docs: "flat ... 10 referral accounts x $5 per referral = $50 commission" — here per item sold.
    assert sell(services, "80.00", "L1=5.00", qty=10, depth=1) == [("A", 1, 5000)]


def test_rounding_half_up_where_floats_fail(services) -> None:
    # Dub, apps/web/tests/commissions/calculate-sale-earnings.test.ts: 500 cents x 2.9% must be 15, not 14.
    assert sell(services, "5.00", "L1=2.9%", depth=1) == [("A", 1, 15)]
    # 12.35 x 10% = 1.235 -> 1.24 (half up); 12.34 x 10% = 1.234 -> 1.23.
    assert sell(services, "12.35", "L1=10%", depth=1)[0][2] == 124
    assert sell(services, "12.34", "L1=10%", depth=1)[0][2] == 123


def test_tiered_example_rates(services) -> None:
    # A published tiered-affiliate example: $25 at 10% earns $2.50; $75 at 15% earns $11.25.
    assert sell(services, "25.00", "L1=10%", depth=1)[0][2] == 250
    assert sell(services, "75.00", "L1=15%", depth=1)[0][2] == 1125


def count_queries(engine, action) -> int:
    statements: list[str] = []

    def listen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(statements)


@pytest.mark.parametrize("depth", [10_000])
def test_commission_queries_do_not_grow_with_chain_depth(services, depth: int) -> None:
    """An order at the bottom of a 10,000-deep chain costs the same queries as one at the top."""
    with services.maker.begin() as session:
        identities.add_reseller(session, "R0", "老李")
        rows = [{"handle": f"R{i}", "is_reseller": True, "depth": i + 1} for i in range(1, depth)]
        session.execute(insert(Identity), rows)
        by_handle = dict(session.execute(select(Identity.handle, Identity.id).where(Identity.handle.like("R%"))).all())
        ids = [by_handle[f"R{i}"] for i in range(depth)]
        table = Identity.__table__
        session.connection().execute(
            update(table).where(table.c.id == bindparam("child")).values(sponsor_id=bindparam("parent")),
            [{"child": ids[i], "parent": ids[i - 1]} for i in range(1, depth)],
        )
        catalog.add(
            session,
            services.settings,
            "KIWI",
            ProductInput(title="t", price="100.00", stock=10, commission="L1=10%,L2=5%"),
        )

    def order_through(handle: str):  # type: ignore[no-untyped-def]
        with services.maker.begin() as session:
            link = referrals.create_link(session, identities.get(session, handle))
            order = orders.create(session, services.settings, "KIWI", 1, f"buyer-of-{handle}", ref=link.code)
            order.status, order.paid_fen = "paid", order.total_fen
            session.flush()
            return order.id

    engine = services.maker.kw["bind"]
    results = {}
    for handle in ("R1", f"R{depth - 1}"):
        order_id = order_through(handle)

        def compute(order_id: int = order_id) -> None:
            with services.maker.begin() as session:
                made = ledger.create_commissions(session, services.settings, orders.get(session, order_id))
                results[order_id] = sorted(e.level for e in made)

        results[handle] = count_queries(engine, compute)
    assert results["R1"] == results[f"R{depth - 1}"]
    assert sorted(v for k, v in results.items() if isinstance(k, int)) == [[1, 2], [1, 2]]
