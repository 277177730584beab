"""The seller's funnel: posts → clicks → orders → revenue → commissions, per outlet and per reseller.

One window (the last N days) and one definition for every screen, so ``weishang report`` and the
console's dashboard print the same figures:

- **posts**: posts published in the window, by the outlet's channel (``wechat-oa``, ``weibo`` …);
- **clicks**: counted clicks (repeats within the burst window excluded) in the window, by where the
  click came from — a post's link carries ``utm_source=<channel>``, so a click lands on its outlet;
- **orders**: orders placed in the window and not cancelled, under the outlet of the click they are
  attributed to (``direct`` when none);
- **revenue**: what those orders paid minus what was refunded, in fen;
- **commissions**: the net of every ledger line (commissions less reversals) on those orders.

Per reseller, the same columns count the reseller's posts, clicks on their links, orders attributed to
them, and the commissions they themselves earned on orders in the window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core.models import Click, Identity, LedgerEntry, Order, OutletAccount, Post, ReferralLink, utcnow
from weishang_core.money import format_yuan
from weishang_core.statuses import OrderStatus, PostStatus

STAGES = ("posts", "clicks", "orders", "revenue", "commissions")
MAX_DAYS = 3660


@dataclass
class Funnel:
    name: str
    posts: int = 0
    clicks: int = 0
    orders: int = 0
    revenue: int = 0  # fen
    commissions: int = 0  # fen

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["revenue"], data["commissions"] = format_yuan(self.revenue), format_yuan(self.commissions)
        return data


@dataclass
class TreeNode:
    name: str
    role: str
    children: list[TreeNode] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "children": [c.as_dict() for c in self.children]}


@dataclass
class Report:
    days: int
    since: datetime
    outlets: list[Funnel]
    resellers: list[Funnel]
    total: Funnel
    tree: list[TreeNode]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "since": self.since.isoformat(),
            "total": self.total.as_dict(),
            "outlets": [f.as_dict() for f in self.outlets],
            "resellers": [f.as_dict() for f in self.resellers],
            "tree": [n.as_dict() for n in self.tree],
        }


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days: {days} is out of range; give 1 to {MAX_DAYS}")
    return days


def _orders_in(since: datetime) -> Any:
    return select(Order).where(Order.created_at >= since, Order.status != OrderStatus.CANCELLED).subquery()


class _Funnels(dict[str, Funnel]):
    """Funnels by name, made on first use; a person without a handle is counted under their display name."""

    def __getitem__(self, name: str | None) -> Funnel:
        key = name or "direct"
        if key not in self:
            super().__setitem__(key, Funnel(key))
        return super().__getitem__(key)


def report(session: Session, days: int = 30, now: datetime | None = None) -> Report:
    since = (now or utcnow()) - timedelta(days=check_days(days))
    placed = _orders_in(since)
    outlets = _outlet_funnels(session, since, placed)
    resellers = _reseller_funnels(session, since, placed)
    total = Funnel("total")
    for funnel in outlets.values():
        for stage in STAGES:
            setattr(total, stage, getattr(total, stage) + getattr(funnel, stage))
    return Report(
        days=days,
        since=since,
        outlets=sorted(outlets.values(), key=lambda f: (-f.clicks, -f.posts, f.name)),
        resellers=sorted(resellers.values(), key=lambda f: (-f.revenue, -f.clicks, f.name)),
        total=total,
        tree=referral_tree(session),
    )


def _outlet_funnels(session: Session, since: datetime, placed: Any) -> _Funnels:
    """Each stage under the outlet it came through: posts by channel, clicks and orders by the click's source."""
    outlet = _Funnels()
    for channel, count in session.execute(
        select(OutletAccount.channel, func.count(Post.id))
        .join(Post, Post.account_id == OutletAccount.id)
        .where(Post.status == PostStatus.PUBLISHED, Post.published_at >= since)
        .group_by(OutletAccount.channel)
    ):
        outlet[channel].posts = count
    for source, count in session.execute(
        select(Click.outlet, func.count(Click.id))
        .where(Click.counted.is_(True), Click.created_at >= since)
        .group_by(Click.outlet)
    ):
        outlet[source].clicks += count
    commission_per_order = (
        select(LedgerEntry.order_id, func.sum(LedgerEntry.amount_fen).label("net"))
        .group_by(LedgerEntry.order_id)
        .subquery()
    )
    for source, count, revenue, paid_out in session.execute(
        select(
            Click.outlet,
            func.count(placed.c.id),
            func.coalesce(func.sum(placed.c.paid_fen - placed.c.refunded_fen), 0),
            func.coalesce(func.sum(commission_per_order.c.net), 0),
        )
        .select_from(placed)
        .outerjoin(Click, Click.id == placed.c.attribution_click_id)
        .outerjoin(commission_per_order, commission_per_order.c.order_id == placed.c.id)
        .group_by(Click.outlet)
    ):
        funnel = outlet[source]
        funnel.orders += count
        funnel.revenue += int(revenue)
        funnel.commissions += int(paid_out)
    return outlet


def _reseller_funnels(session: Session, since: datetime, placed: Any) -> _Funnels:
    """Each stage under the reseller: their posts, clicks on their links, orders they brought, what they earned."""
    reseller = _Funnels()
    for handle, count in session.execute(
        select(Identity.handle, func.count(Post.id))
        .join(Post, Post.poster_id == Identity.id)
        .where(Post.status == PostStatus.PUBLISHED, Post.published_at >= since, Identity.is_reseller.is_(True))
        .group_by(Identity.handle)
    ):
        reseller[handle].posts = count
    for handle, count in session.execute(
        select(Identity.handle, func.count(Click.id))
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .join(Identity, Identity.id == ReferralLink.reseller_id)
        .where(Click.counted.is_(True), Click.created_at >= since)
        .group_by(Identity.handle)
    ):
        reseller[handle].clicks = count
    for handle, count, revenue in session.execute(
        select(
            Identity.handle,
            func.count(placed.c.id),
            func.coalesce(func.sum(placed.c.paid_fen - placed.c.refunded_fen), 0),
        )
        .join(Identity, Identity.id == placed.c.referrer_id)
        .where(Identity.is_reseller.is_(True))
        .group_by(Identity.handle)
    ):
        reseller[handle].orders, reseller[handle].revenue = count, int(revenue)
    for handle, earned in session.execute(
        select(Identity.handle, func.sum(LedgerEntry.amount_fen))
        .join(placed, placed.c.id == LedgerEntry.order_id)
        .join(Identity, Identity.id == LedgerEntry.beneficiary_id)
        .where(Identity.is_reseller.is_(True))
        .group_by(Identity.handle)
    ):
        reseller[handle].commissions = int(earned)
    return reseller


def referral_tree(session: Session) -> list[TreeNode]:
    """Who brought whom: the seller and every reseller under their sponsor, in the order they joined."""
    people = session.scalars(
        select(Identity).where((Identity.is_seller.is_(True)) | (Identity.is_reseller.is_(True))).order_by(Identity.id)
    ).all()
    nodes = {p.id: TreeNode(p.name, "seller" if p.is_seller else "reseller") for p in people}
    roots: list[TreeNode] = []
    for person in people:
        parent = nodes.get(person.sponsor_id) if person.sponsor_id else None
        (parent.children if parent is not None and person.sponsor_id != person.id else roots).append(nodes[person.id])
    return roots
