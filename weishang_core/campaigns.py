"""Pre-sale campaigns (眾籌, C2B): sell first, then produce for what was sold, then ship.

``open → funded`` when paid pre-orders reach the target; ``funded → fulfilled`` when the campaign closes
(its deadline passes, or the seller closes it early once funded): only then do its orders ship.
``open → failed`` when the deadline passes short of the target, or on cancel: every paid pre-order is
refunded in full (its commissions reversed to zero) and pending ones are cancelled. A campaign's orders
come out of its cap (``max_qty``, what the farm can produce), taken with one conditional UPDATE, never
out of stock. Deadlines are evaluated by ``weishang settle`` (and the beat schedule) and by every order.
Closing, which refunds and cancels orders, is ``settlement.close_campaign`` (this module knows no orders).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from weishang_core import catalog
from weishang_core.db import rows_changed
from weishang_core.errors import NotFound, UserError
from weishang_core.models import Campaign, Order, Product, utcnow
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.statuses import LIVE_CAMPAIGN, CampaignStatus
from weishang_core.validation import parse_id

LIVE = LIVE_CAMPAIGN


def create(
    session: Session,
    sku: str,
    target: str,
    deadline: datetime,
    min_qty: int | None = None,
    max_qty: int | None = None,
    ship_by: datetime | None = None,
    now: datetime | None = None,
) -> Campaign:
    now = now or utcnow()
    product = catalog.get(session, sku)
    target_fen = parse_yuan(target, "target")
    if target_fen <= 0:
        raise UserError("target: must be more than 0.00")
    if deadline <= now:
        raise UserError("deadline: must be in the future")
    if ship_by is not None and ship_by < deadline:
        raise UserError("ship-by: must not be before the deadline")
    for name, value in (("min-qty", min_qty), ("max-qty", max_qty)):
        if value is not None and not 1 <= value <= 1_000_000:
            raise UserError(f"{name}: {value} must be from 1 to 1,000,000")
    if min_qty and max_qty and min_qty > max_qty:
        raise UserError("min-qty: is larger than max-qty")
    if live_for(session, product) is not None:
        raise UserError(f"sku: {product.sku} already has a running campaign; close or cancel it first")
    campaign = Campaign(
        product_id=product.id,
        target_fen=target_fen,
        deadline=deadline,
        min_qty=min_qty,
        max_qty=max_qty,
        ship_by=ship_by,
        status=CampaignStatus.OPEN,
        sold_qty=0,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def get(session: Session, campaign_id: int | str) -> Campaign:
    campaign = session.get(Campaign, parse_id(campaign_id, "campaign", "campaign number"))
    if campaign is None:
        raise NotFound(f"campaign: no campaign {campaign_id}")
    return campaign


def live_for(session: Session, product: Product) -> Campaign | None:
    return session.scalar(select(Campaign).where(Campaign.product_id == product.id, Campaign.status.in_(LIVE)))


def raised_fen(session: Session, campaign: Campaign) -> int:
    """Money kept from paid pre-orders: paid minus refunded."""
    total = session.scalar(
        select(func.sum(Order.paid_fen - Order.refunded_fen)).where(Order.campaign_id == campaign.id)
    )
    return int(total or 0)


def take(session: Session, campaign: Campaign, qty: int, now: datetime) -> None:
    """Count a pre-order against the cap, atomically; refuse after the deadline or past the cap."""
    if campaign.deadline <= now:
        raise UserError(f"sku: the campaign ended at {campaign.deadline:%Y-%m-%d %H:%M} UTC")
    cap_ok = (Campaign.max_qty.is_(None)) | (Campaign.sold_qty + qty <= Campaign.max_qty)
    taken = rows_changed(
        session,
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_(LIVE), cap_ok)
        .values(sold_qty=Campaign.sold_qty + qty)
        .execution_options(synchronize_session=False),
    )
    session.refresh(campaign, ["sold_qty", "status"])
    if taken != 1:
        left = (campaign.max_qty or 0) - campaign.sold_qty
        raise UserError(f"qty: the campaign has {max(left, 0)} left of its {campaign.max_qty}, {qty} asked for")


def give_back(session: Session, campaign_id: int, qty: int) -> None:
    session.execute(update(Campaign).where(Campaign.id == campaign_id).values(sold_qty=Campaign.sold_qty - qty))


def note_payment(session: Session, campaign: Campaign) -> None:
    """Called by ``orders.pay`` with the campaign locked (``orders.lock`` locks it first)."""
    if campaign.status == CampaignStatus.OPEN and raised_fen(session, campaign) >= campaign.target_fen:
        campaign.status = CampaignStatus.FUNDED


def as_dict(session: Session, campaign: Campaign) -> dict[str, Any]:
    product = session.get_one(Product, campaign.product_id)
    raised = raised_fen(session, campaign)
    return {
        "id": campaign.id,
        "sku": product.sku,
        "status": campaign.status,
        "target": format_yuan(campaign.target_fen),
        "raised": format_yuan(raised),
        "percent": min(100, raised * 100 // campaign.target_fen),
        "sold_qty": campaign.sold_qty,
        "min_qty": campaign.min_qty,
        "max_qty": campaign.max_qty,
        "deadline": campaign.deadline.isoformat(),
        "ship_by": campaign.ship_by.isoformat() if campaign.ship_by else None,
    }
