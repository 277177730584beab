"""Settlement: what time and the seller's decisions close, across campaigns, orders and the ledger.

Closing a campaign refunds or cancels its orders, and ``settle`` closes campaigns, releases ledger
entries and expires unpaid orders' holds: work that needs all three. It lives here, above them, so that
``orders`` may use ``campaigns`` and ``ledger`` while neither of those imports ``orders`` back.

Closing happens once: the campaign row is locked (``locks.lock``) and its state read again under the lock;
a payment of one of its pre-orders locks the campaign before the order, so a close never sees a payment
half made, and two settles (or a settle and the seller's close) close it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from weishang_core import campaigns, locks, orders
from weishang_core.config import Settings
from weishang_core.db import rows_changed
from weishang_core.errors import Conflict
from weishang_core.models import Campaign, LedgerEntry, Order, utcnow
from weishang_core.statuses import CampaignStatus, LedgerStatus, OrderStatus


def settle(session: Session, settings: Settings, now: datetime) -> dict[str, int]:
    """Close campaigns past their deadline, release every pending entry whose time has come, complete
    orders whose return window closed and cancel unpaid orders whose hold expired. Each step is a
    conditional write or works under row locks, so two settles at once do each thing once."""
    closed = close_due_campaigns(session, now)
    released = rows_changed(
        session,
        update(LedgerEntry)
        .where(LedgerEntry.status == LedgerStatus.PENDING, LedgerEntry.available_at <= now)
        .values(status=LedgerStatus.AVAILABLE, released_at=now)
        .execution_options(synchronize_session=False),
    )
    window = timedelta(days=settings.return_days)
    completed = rows_changed(
        session,
        update(Order)
        .where(Order.status == OrderStatus.DELIVERED, Order.delivered_at <= now - window)
        .values(status=OrderStatus.COMPLETED, completed_at=now)
        .execution_options(synchronize_session=False),
    )
    expired = orders.expire_holds(session, now)
    return {
        "released": released or 0,
        "completed": completed or 0,
        "expired": expired,
        "campaigns_fulfilled": sum(1 for c in closed if c.status == CampaignStatus.FULFILLED),
        "campaigns_failed": sum(1 for c in closed if c.status == CampaignStatus.FAILED),
    }


def close_campaign(session: Session, campaign: Campaign, now: datetime | None = None) -> Campaign:
    """End the campaign: fulfilled when the target was met, else failed with every buyer refunded."""
    now = now or utcnow()
    locks.lock(session, campaign)
    if campaign.status not in campaigns.LIVE:
        raise Conflict(f"campaign {campaign.id}: already {campaign.status}")
    if campaigns.raised_fen(session, campaign) >= campaign.target_fen and (campaign.min_qty or 0) <= campaign.sold_qty:
        campaign.status, campaign.closed_at = CampaignStatus.FULFILLED, now
        return campaign
    return _fail_campaign(session, campaign, now, "the campaign missed its target")


def cancel_campaign(session: Session, campaign: Campaign, now: datetime | None = None) -> Campaign:
    locks.lock(session, campaign)
    if campaign.status not in campaigns.LIVE:
        raise Conflict(f"campaign {campaign.id}: already {campaign.status}")
    return _fail_campaign(session, campaign, now or utcnow(), "the seller cancelled the campaign")


def _fail_campaign(session: Session, campaign: Campaign, now: datetime, reason: str) -> Campaign:
    campaign.status, campaign.closed_at = CampaignStatus.FAILED, now
    session.flush()
    for order in session.scalars(select(Order).where(Order.campaign_id == campaign.id).order_by(Order.id)).all():
        orders.lock(session, order)  # the campaign is locked already: its payments are done or not started
        if order.status == OrderStatus.PENDING:
            orders.cancel(session, order, now, locked=True)
        elif order.paid_fen > order.refunded_fen:
            orders.refund(session, order, reason=reason)  # everything left, as read under the lock
    return campaign


def close_due_campaigns(session: Session, now: datetime) -> list[Campaign]:
    """Close every live campaign whose deadline has passed (from settle and the beat schedule)."""
    live = select(Campaign).where(Campaign.status.in_(campaigns.LIVE), Campaign.deadline <= now)
    due = session.scalars(live.order_by(Campaign.id)).all()  # locked in one order by every settle
    closed = []
    for campaign in due:
        try:
            closed.append(close_campaign(session, campaign, now))
        except Conflict:  # another settle, or the seller, closed it first
            continue
    return closed
