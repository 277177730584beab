"""A trust score per person (0–100) that anyone can recompute by hand from its parts.

Trust decides how long commissions wait after the return window: someone with a record of clean sales
is paid sooner; a new or refund-heavy account waits longer, so a fraudulent burst of orders can be
refunded before the money leaves. Parts (each shown by ``reseller show``):

- base 50;
- tenure: +1 per 9 days since joining, at most +20;
- completed purchases of their own: +3 each, at most +15;
- referred sales (paid, not fully refunded orders they referred): +2 each, at most +20;
- refunds: minus 40 × the share of their referred and own paid orders that were fully refunded.

Every part comes from orders the store itself recorded. (An "interactions" part for follows and shares
reported by plugins was dropped: nothing reported them, and a count anyone can inflate must not shorten
a hold on money; docs/decisions.md.)

Extra hold after the return window: none at 70 or above, 7 days from 30 to 69, 14 days below 30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from weishang_core.models import Identity, Order, utcnow
from weishang_core.statuses import PAID_ORDER, OrderStatus

EVER_PAID = (*PAID_ORDER, OrderStatus.REFUNDED)  # paid once, refunded since or not


@dataclass(frozen=True)
class TrustScore:
    score: int
    parts: dict[str, int]
    extra_hold_days: int

    def explain(self) -> str:
        return ", ".join(f"{name} {value:+d}" for name, value in self.parts.items()) + f" = {self.score}"


def hold_days(score: int) -> int:
    if score >= 70:
        return 0
    if score >= 30:
        return 7
    return 14


def score(session: Session, person: Identity, now: datetime | None = None) -> TrustScore:
    now = now or utcnow()
    own = Order.buyer_id == person.id
    referred = Order.referrer_id == person.id
    fully_refunded = (Order.refunded_fen >= Order.paid_fen) & (Order.paid_fen > 0)
    row = session.execute(
        select(
            func.count().filter(own, Order.status == OrderStatus.COMPLETED),
            func.count().filter(referred, Order.status.in_(EVER_PAID), ~fully_refunded),
            func.count().filter(Order.status.in_(EVER_PAID)),
            func.sum(case((fully_refunded, 1), else_=0)),
        ).where(or_(own, referred))
    ).one()
    completed, referred_sales, paid_orders, refunded_orders = (int(v or 0) for v in row)
    days = max(0, (now - person.created_at).days)
    parts = {
        "base": 50,
        "tenure": min(20, days // 9),
        "purchases": min(15, 3 * completed),
        "referred sales": min(20, 2 * referred_sales),
        "refunds": -(40 * refunded_orders // paid_orders) if paid_orders else 0,
    }
    total = max(0, min(100, sum(parts.values())))
    return TrustScore(total, parts, hold_days(total))
