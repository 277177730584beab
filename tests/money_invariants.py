"""What must hold of the money and the stock however many requests raced: checked from the tables alone.

Used by the hostile-concurrency suites (``tests/test_hostile_concurrency.py`` for separate CLI processes,
``plugins/webstore/tests/test_hostile_store.py`` for the store and the console over real HTTP).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import and_, func, or_, select

from weishang_core import ledger
from weishang_core.db import get_sessionmaker
from weishang_core.models import LedgerEntry, Order, OrderEvent, OrderLine, Payout, Product


def assert_money_invariants(url: str, initial_stock: dict[str, int]) -> None:
    """Refunded ≤ paid; refund events sum to ``refunded_fen``; each order paid/cancelled at most once;
    stock conserved; payouts equal the paid ledger entries; every balance is the sum of its entries."""
    with get_sessionmaker(url)() as session:
        events = Counter(session.execute(select(OrderEvent.order_id, OrderEvent.kind)).all())
        refunds = dict(
            session.execute(
                select(OrderEvent.order_id, func.sum(OrderEvent.amount_fen))
                .where(OrderEvent.kind == "refund")
                .group_by(OrderEvent.order_id)
            ).all()
        )
        for order in session.scalars(select(Order)):
            assert 0 <= order.refunded_fen <= order.paid_fen, f"order {order.id} refunded more than was paid"
            assert int(refunds.get(order.id, 0)) == order.refunded_fen, f"order {order.id}: refund events != refunded"
            assert sum(line.refunded_fen for line in order.lines) == order.refunded_fen
            assert all(line.refunded_qty + line.exchanged_qty <= line.qty for line in order.lines)
            assert events[(order.id, "paid")] <= 1 and events[(order.id, "cancelled")] <= 1, f"order {order.id}"
            assert order.status != "cancelled" or order.paid_fen == 0
        _assert_stock(session, initial_stock)
        _assert_ledger(session)


def _assert_stock(session, initial_stock: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    """initial = in stock + sold in orders not cancelled (pre-orders excepted) + units sent as exchanges."""
    out: dict[int, int] = defaultdict(int)
    rows = session.execute(
        select(OrderLine.product_id, OrderLine.qty, OrderLine.exchanged_qty, Order.status)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.campaign_id.is_(None))
    ).all()
    for product_id, qty, exchanged, status in rows:
        out[product_id] += (0 if status == "cancelled" else qty) + exchanged
    for product in session.scalars(select(Product)):
        if product.sku in initial_stock:
            assert initial_stock[product.sku] == product.stock + out[product.id], (
                f"{product.sku}: {initial_stock[product.sku]} at first, {product.stock} left, {out[product.id]} out"
            )


def _assert_ledger(session) -> None:  # type: ignore[no-untyped-def]
    paid_entries = int(
        session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.status == "paid"))
    )
    paid_out = int(session.scalar(select(func.coalesce(func.sum(Payout.amount_fen), 0))))
    assert paid_out == paid_entries, f"payouts {paid_out} fen, paid ledger entries {paid_entries} fen"
    for payout in session.scalars(select(Payout)):
        claimed = session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.payout_id == payout.id))
        assert payout.amount_fen == int(claimed or 0) and payout.amount_fen > 0, f"payout {payout.id}"
    mismatched = or_(
        and_(LedgerEntry.status == "paid", LedgerEntry.payout_id.is_(None)),
        and_(LedgerEntry.status != "paid", LedgerEntry.payout_id.is_not(None)),
    )
    assert not session.scalar(select(func.count()).select_from(LedgerEntry).where(mismatched)), (
        "paid ≠ tied to a payout"
    )
    sums = dict(
        session.execute(
            select(LedgerEntry.beneficiary_id, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.beneficiary_id)
        ).all()
    )
    for person, total in sums.items():
        balance = ledger.balances(session, person)
        assert balance.pending + balance.available + balance.paid == int(total)
    reversed_ = dict(
        session.execute(
            select(LedgerEntry.reverses_id, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.reverses_id.is_not(None))
            .group_by(LedgerEntry.reverses_id)
        ).all()
    )
    for original in session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "commission")):
        assert -int(reversed_.get(original.id, 0)) <= original.amount_fen, f"entry {original.id} reversed past zero"
