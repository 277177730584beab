"""What a reseller sees of their own business: links, clicks and orders per outlet, money, downline.

Every query is scoped to one identity and aggregated in the database (a fixed number of queries
whatever the number of links or orders), so the page stays fast as a reseller grows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import identifiers, ledger, referrals
from weishang_core.config import Settings
from weishang_core.models import Click, Identity, Order, Payout, Product, ReferralLink
from weishang_core.money import format_yuan
from weishang_core.orders import as_dict as order_dict
from weishang_webstore.signing import Signer


def for_reseller(session: Session, settings: Settings, person: Identity) -> dict[str, Any]:
    links = session.execute(
        select(ReferralLink, Product.sku)
        .outerjoin(Product, Product.id == ReferralLink.product_id)
        .where(ReferralLink.reseller_id == person.id)
        .order_by(ReferralLink.id)
    ).all()
    clicks = session.execute(
        select(Click.link_id, Click.outlet, func.count())
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(ReferralLink.reseller_id == person.id, Click.counted.is_(True))
        .group_by(Click.link_id, Click.outlet)
    ).all()
    orders = session.execute(
        select(Click.link_id, Click.outlet, func.count(Order.id))
        .join(Click, Click.id == Order.attribution_click_id)
        .where(Order.referrer_id == person.id)
        .group_by(Click.link_id, Click.outlet)
    ).all()
    direct_orders = session.scalar(
        select(func.count(Order.id)).where(Order.referrer_id == person.id, Order.attribution_click_id.is_(None))
    )
    by_link: dict[int, dict[str, dict[str, int]]] = {}
    for link_id, outlet, count in clicks:
        by_link.setdefault(link_id, {}).setdefault(outlet or "direct", {"clicks": 0, "orders": 0})["clicks"] += count
    for link_id, outlet, count in orders:
        by_link.setdefault(link_id, {}).setdefault(outlet or "direct", {"clicks": 0, "orders": 0})["orders"] += count
    entries = [ledger.entry_dict(entry, handle) for entry, handle in ledger.entries(session, person.id)]
    payouts = session.scalars(select(Payout).where(Payout.beneficiary_id == person.id).order_by(Payout.id)).all()
    return {
        "name": person.handle,
        "identifiers": identifiers.shown(identifiers.of(session, person.id), reveal=True),  # their own
        "links": [
            {
                "code": link.code,
                "url": referrals.link_url(settings, link.code),
                "sku": sku,
                "outlets": by_link.get(link.id, {}),
            }
            for link, sku in links
        ],
        "orders_without_click": direct_orders or 0,
        "balances": ledger.balances(session, person.id).as_dict(),
        "commissions": entries,
        "payouts": [
            {"id": p.id, "amount": format_yuan(p.amount_fen), "method": p.method, "at": p.created_at.isoformat()}
            for p in payouts
        ],
        "downline": referrals.downline_size(session, person.id),
    }


def for_buyer(session: Session, person: Identity, sign: Signer) -> dict[str, Any]:
    """A signed-in buyer's own orders (each with its page, where a delivered one offers reselling)."""
    mine = session.scalars(select(Order).where(Order.buyer_id == person.id).order_by(Order.id.desc()).limit(100))
    return {
        "name": person.name,
        "reseller": False,
        "identifiers": identifiers.shown(identifiers.of(session, person.id), reveal=True),
        "orders": [
            order_dict(session, order) | {"url": f"/orders/{order.id}?t={sign.sign('order', str(order.id))}"}
            for order in mine
        ],
    }
