"""The statuses of products, orders, campaigns, ledger entries and posts, and the seller's order actions.

The values are the strings stored in the database and shown in ``--json``; a ``StrEnum`` member equals its
string, so a status read back from the database compares equal to the member.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProductStatus(StrEnum):
    ACTIVE = "active"  # on sale
    WITHDRAWN = "withdrawn"  # off sale: no new orders or posts


class OrderStatus(StrEnum):
    PENDING = "pending"  # placed, stock held, not paid
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"  # the return window runs
    COMPLETED = "completed"  # the return window closed
    REFUNDED = "refunded"  # fully refunded
    CANCELLED = "cancelled"  # before payment; its stock came back


class CampaignStatus(StrEnum):
    OPEN = "open"
    FUNDED = "funded"  # paid pre-orders reached the target
    FULFILLED = "fulfilled"  # closed funded: its orders may ship
    FAILED = "failed"  # closed short of the target, or cancelled: every buyer refunded


class LedgerStatus(StrEnum):
    PENDING = "pending"  # held until the return window (and trust hold) closes
    AVAILABLE = "available"  # the next payout takes it
    PAID = "paid"  # a payout took it


class PostStatus(StrEnum):
    QUEUED = "queued"
    PUBLISHING = "publishing"  # claimed under a lease by one worker
    PUBLISHED = "published"
    FAILED = "failed"
    REFUSED = "refused"  # a policy or limit stopped it before anything was sent
    UNCONFIRMED = "unconfirmed"  # it may have gone out; the seller resolves it
    CANCELLED = "cancelled"


PAID_ORDER = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
DELIVERED_ORDER = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)  # the buyer has the goods
LIVE_CAMPAIGN = (CampaignStatus.OPEN, CampaignStatus.FUNDED)


@dataclass(frozen=True)
class OrderAction:
    """One step the seller moves an order along, from the CLI (``weishang order NAME``) or the console;
    refunds and exchanges take amounts and quantities, and have commands of their own."""

    name: str
    allowed: tuple[OrderStatus, ...]  # the states it may start from
    becomes: OrderStatus
    help: str


ORDER_ACTIONS = {
    action.name: action
    for action in (
        OrderAction(
            "pay",
            (OrderStatus.PENDING,),
            OrderStatus.PAID,
            "Confirm the buyer's payment arrived (commissions are written, pending).",
        ),
        OrderAction("ship", (OrderStatus.PAID,), OrderStatus.SHIPPED, "Mark an order shipped."),
        OrderAction(
            "deliver",
            (OrderStatus.PAID, OrderStatus.SHIPPED),
            OrderStatus.DELIVERED,
            "Mark an order delivered (the return window starts).",
        ),
        OrderAction("complete", (OrderStatus.DELIVERED,), OrderStatus.COMPLETED, "Mark a delivered order completed."),
        OrderAction(
            "cancel",
            (OrderStatus.PENDING,),
            OrderStatus.CANCELLED,
            "Cancel an order before payment (stock comes back).",
        ),
    )
}
