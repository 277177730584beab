"""Deep chains: commissions for an order at the bottom of a 10,000-deep sponsor chain ÷ at depth 1.

Target ≤ 1.1: the levels paid are capped (2 by default), and the chain is walked a fixed number of steps
whatever its depth.
"""

from __future__ import annotations

import time

from sqlalchemy import insert

from bench.common import fresh_store, report
from weishang_core import catalog, identities, orders, referrals
from weishang_core.catalog import ProductInput
from weishang_core.models import Identity, utcnow

DEPTH = 10_000
REPEAT = 200


def _build_chain(maker) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """10,000 resellers, each sponsoring the next (inserted in bulk: the chain is the fixture, not the figure)."""
    with maker.begin() as session:
        seller = identities.seller(session)
        top = identities.add_reseller(session, "r-1", seller.handle)
        parent_id, now = top.id, utcnow()
        for depth in range(2, DEPTH + 1):
            parent_id = session.execute(
                insert(Identity).returning(Identity.id),
                [
                    {
                        "handle": f"r-{depth}",
                        "is_reseller": True,
                        "is_seller": False,
                        "sponsor_id": parent_id,
                        "depth": depth,
                        "reseller_since": now,
                        "created_at": now,
                    }
                ],  # fmt: skip
            ).scalar_one()
    return "r-1", f"r-{DEPTH}"


def _time_orders(settings, maker, handle: str) -> float:  # type: ignore[no-untyped-def]
    with maker.begin() as session:
        code = referrals.link_for(session, identities.get(session, handle), None).code
    started = time.perf_counter()
    for number in range(REPEAT):
        with maker.begin() as session:
            order = orders.create(session, settings, "KIWI", 1, f"buyer-{handle}-{number}", ref=code)
            orders.pay(session, settings, order)
    return (time.perf_counter() - started) / REPEAT


def run() -> None:
    settings, maker = fresh_store()
    with maker.begin() as session:
        kiwi = ProductInput(title="紅心獼猴桃", price="39.90", stock=20 * REPEAT, commission="L1=10%,L2=3%")
        catalog.add(session, settings, "KIWI", kiwi)
    shallow, deep = _build_chain(maker)
    _time_orders(settings, maker, shallow)  # warm up
    tops, bottoms = [], []
    for _ in range(3):  # interleaved, best of three: the database grows as orders are added
        tops.append(_time_orders(settings, maker, shallow))
        bottoms.append(_time_orders(settings, maker, deep))
    at_top, at_bottom = min(tops), min(bottoms)
    report(
        "deep_chains",
        f"order + 2-level commissions at depth {DEPTH:,}: {at_bottom * 1000:.2f} ms; "
        f"at depth 1: {at_top * 1000:.2f} ms",
        at_bottom / at_top,
        "≤ 1.1",
    )
