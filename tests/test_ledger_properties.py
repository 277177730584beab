"""Property tests: random order histories never create or lose a fen, and the ledger stays explainable."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from weishang_core import catalog, identities, ledger, orders, payouts, referrals, settlement
from weishang_core.catalog import ProductInput
from weishang_core.commission_rules import parse_rule
from weishang_core.errors import UserError
from weishang_core.models import Identity, LedgerEntry, Order, OrderLine, Payout, Product, utcnow

PRODUCTS = [
    ("RATE", "39.90", "L1=10%,L2=3%"),
    ("ODD", "12.35", "L1=7.5%,L2=2.5%"),
    ("FLAT", "9.99", "L1=1.00,L2=0.50"),
]
PEOPLE = ["A", "B", "C", "D"]  # A under the seller, B under A, C under B, D under C

operation = st.one_of(
    st.tuples(st.just("refund_amount"), st.integers(1, 10_000)),
    st.tuples(st.just("refund_qty"), st.integers(1, 3)),
    st.tuples(st.just("refund_all"), st.just(0)),
    st.tuples(st.just("exchange"), st.integers(1, 2)),
    st.tuples(st.just("settle"), st.integers(0, 40)),
    st.tuples(st.just("payout"), st.integers(0, 2000)),
)
order_plan = st.fixed_dictionaries(
    {
        "product": st.sampled_from([p[0] for p in PRODUCTS]),
        "qty": st.integers(1, 4),
        "referrer": st.sampled_from([None, *PEOPLE]),
        "buyer": st.sampled_from(["x", "y", *PEOPLE]),
        "stage": st.sampled_from(["pending", "paid", "delivered"]),
        "ops": st.lists(operation, max_size=6),
    }
)


@pytest.fixture
def world(services):
    with services.maker.begin() as session:
        for sku, price, rule in PRODUCTS:
            catalog.add(
                session,
                services.settings,
                sku,
                ProductInput(title=sku, price=price, stock=1_000_000, commission=rule),
            )
        sponsor = "老李"
        for person in PEOPLE:
            identities.add_reseller(session, person, sponsor)
            sponsor = person
    return services


def run_plan(services, plan: dict, clock: list) -> None:  # type: ignore[type-arg]
    s = services.settings
    with services.maker.begin() as session:
        ref = None
        if plan["referrer"]:
            ref = referrals.link_for(session, identities.get(session, plan["referrer"]), None).code
        order = orders.create(session, s, plan["product"], plan["qty"], plan["buyer"], ref=ref)
        order_id = order.id
        if plan["stage"] in ("paid", "delivered"):
            orders.pay(session, s, order)
        if plan["stage"] == "delivered":
            orders.deliver(session, s, order, now=clock[0])
    for kind, value in plan["ops"]:
        try:
            with services.maker.begin() as session:
                order = orders.get(session, order_id)
                if kind == "refund_amount":
                    orders.refund(session, order, amount_fen=value)
                elif kind == "refund_qty":
                    orders.refund(session, order, qty=value)
                elif kind == "refund_all":
                    orders.refund(session, order)
                elif kind == "exchange":
                    orders.exchange(session, order, value)
                elif kind == "settle":
                    clock[0] += timedelta(days=value)
                    settlement.settle(session, s, clock[0])
                else:
                    payouts.run(session, value)
        except UserError:
            pass  # refused operations (too much, wrong state) must leave everything as it was


def check_invariants(services) -> None:
    s = services.settings
    with services.maker() as session:
        seller_id = session.scalar(select(Identity.id).where(Identity.is_seller))
        entries = session.scalars(select(LedgerEntry)).all()
        by_original: dict[int, int] = defaultdict(int)
        for entry in entries:
            assert entry.level <= s.max_commission_levels
            assert entry.beneficiary_id != seller_id
            if entry.kind == "reversal":
                assert entry.amount_fen < 0
                by_original[entry.reverses_id] += -entry.amount_fen  # type: ignore[index]
        for order in session.scalars(select(Order)).all():
            lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
            assert 0 <= order.refunded_fen <= order.paid_fen <= order.total_fen
            assert sum(line.refunded_fen for line in lines) == order.refunded_fen  # no fen made or lost
            per_person: dict[int, int] = defaultdict(int)
            for entry in (e for e in entries if e.order_id == order.id):
                assert entry.beneficiary_id != order.buyer_id  # nobody earns on their own purchase
                per_person[entry.beneficiary_id] += entry.amount_fen
            for entry in (e for e in entries if e.order_id == order.id and e.kind == "commission"):
                line = next(line for line in lines if line.id == entry.order_line_id)
                product = session.get(Product, line.product_id)
                rule = {r.level: r for r in parse_rule(product.commission_rule, 3)}[entry.level]
                base = line.qty * line.unit_price_fen
                expected = (
                    (2 * base * rule.rate_bp + 10_000) // 20_000
                    if rule.rate_bp is not None
                    else min(rule.flat_fen * line.qty, base)
                )
                assert entry.amount_fen == expected  # exactly the rule, never more
                reversed_ = by_original[entry.id]
                assert reversed_ == (2 * entry.amount_fen * line.refunded_fen + base) // (2 * base)
            if order.paid_fen and order.refunded_fen == order.paid_fen:
                assert all(total == 0 for total in per_person.values())  # a full refund nets everyone to 0
            if order.status in ("pending", "cancelled"):
                assert per_person == {}
        for person_id in {e.beneficiary_id for e in entries}:
            b = ledger.balances(session, person_id)
            total = session.scalar(
                select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.beneficiary_id == person_id)
            )
            assert b.pending + b.available + b.paid == total
        for payout in session.scalars(select(Payout)).all():
            paid = session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.payout_id == payout.id))
            assert paid == payout.amount_fen > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=st.lists(order_plan, min_size=1, max_size=4))
def test_random_histories_keep_the_books_exact(world, plans: list) -> None:  # type: ignore[type-arg]
    clock = [utcnow()]
    for plan in plans:
        run_plan(world, plan, clock)
    check_invariants(world)
