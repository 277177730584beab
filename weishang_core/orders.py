"""Orders: pending → paid → shipped → delivered → completed, with refunds, exchanges and cancellation.

Stock is reserved with one conditional UPDATE (``stock >= qty``), so two buyers can never both get the
last unit, on SQLite or PostgreSQL. Refunds by amount are split over the order's lines by largest
remainder, so no fen is created or lost; each line's commissions shrink pro rata (see ``ledger``).
Refunded goods are not put back in stock (soft kiwis are not resold); exchanged ones are replaced from it.

Every transition happens once: it locks the order row (``locks.lock``; a pre-order's campaign first, the
order after, everywhere) and checks the state it reads under the lock, so of N parallel attempts one
takes effect and the others get ``Conflict``. An unpaid order holds its stock until ``expires_at``
(``Settings.hold_for``); ``expire_holds`` (from ``weishang settle``) then cancels it, and ``pay`` refuses it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from weishang_core import campaigns, catalog, identities, ledger, locks, payments, referrals
from weishang_core.config import Settings
from weishang_core.db import rows_changed
from weishang_core.errors import Conflict, NotFound, UserError
from weishang_core.events import emit_after_commit
from weishang_core.models import Identity, LedgerEntry, Order, OrderEvent, OrderLine, Product, utcnow
from weishang_core.money import format_yuan, split_largest_remainder
from weishang_core.statuses import ORDER_ACTIONS, PAID_ORDER, CampaignStatus, OrderStatus, ProductStatus
from weishang_core.validation import check_text, parse_id, parse_whole

MAX_QTY = 10_000
PAID_STATES = PAID_ORDER


def check_qty(qty: int | str, field: str = "qty") -> int:
    return parse_whole(qty, field, 1, MAX_QTY)


def check_contact(contact: str | None, field: str = "contact") -> None:
    if contact is not None:
        check_text(contact, field, 200)


def reserve_stock(session: Session, product: Product, qty: int) -> None:
    taken = rows_changed(
        session,
        update(Product)
        .where(Product.id == product.id, Product.stock >= qty)
        .values(stock=Product.stock - qty)
        .execution_options(synchronize_session=False),
    )
    if taken != 1:
        session.refresh(product, ["stock"])
        raise UserError(f"qty: only {product.stock} of {product.sku} left, {qty} asked for")
    session.refresh(product, ["stock"])


def get(session: Session, order_id: int | str) -> Order:
    key = parse_id(order_id, "order", "order number")
    order = session.get(Order, key)
    if order is None:
        raise NotFound(f"order: no order {order_id}")
    return order


def create(
    session: Session,
    settings: Settings,
    sku: str,
    qty: int | str,
    buyer: Identity | identities.Guest | str,
    *,
    contact: str | None = None,
    ref: str | None = None,
    visitor_id: str | None = None,
    idempotency_key: str | None = None,
    idempotency_hash: str | None = None,
    now: datetime | None = None,
) -> Order:
    """Place an order. The key is stored as given (a repeated submission is found by ``idempotency``).

    ``buyer`` is a person, a store guest (a new person unless their browser already is one) or a name the
    seller typed (``identities.buyer_for``); the contact stays on the order, never on anyone else."""
    now = now or utcnow()
    qty = check_qty(qty)
    product = catalog.get(session, sku)
    if product.status != ProductStatus.ACTIVE:
        raise UserError(f"sku: {product.sku} is withdrawn from sale")
    check_contact(contact)
    buyer = identities.buyer_for(session, buyer, contact)
    attribution = referrals.attribute(session, settings, buyer, ref, visitor_id, now, contact)
    campaign = campaigns.live_for(session, product)
    if campaign is not None:  # a pre-order: it comes out of the campaign's cap, not out of stock
        campaigns.take(session, campaign, qty, now)
    else:
        reserve_stock(session, product, qty)
    total = qty * product.price_fen
    order = Order(
        buyer_id=buyer.id,
        status=OrderStatus.PENDING,
        total_fen=total,
        paid_fen=0,
        refunded_fen=0,
        contact=contact,
        referrer_id=attribution.referrer.id if attribution.referrer else None,
        attribution_rule=attribution.rule,
        attribution_click_id=attribution.click_id,
        attribution_note=attribution.blocked,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key,
        idempotency_hash=idempotency_hash,
        campaign_id=campaign.id if campaign is not None else None,
        created_at=now,
        expires_at=now + settings.hold_for(payments.method_name()),
    )
    order.lines.append(OrderLine(product_id=product.id, qty=qty, unit_price_fen=product.price_fen, refunded_fen=0))
    session.add(order)
    session.flush()
    _event(session, order, "created", reason=attribution.blocked or _attribution_text(attribution))
    return order


def _attribution_text(attribution: referrals.Attribution) -> str | None:
    if attribution.referrer is None:
        return "no referrer"
    return f"referred by {attribution.referrer.handle} ({attribution.rule}, click {attribution.click_id})"


def _event(
    session: Session, order: Order, kind: str, amount: int = 0, qty: int = 0, reason: str | None = None
) -> OrderEvent:
    event = OrderEvent(order_id=order.id, kind=kind, amount_fen=amount, qty=qty, reason=reason)
    session.add(event)
    session.flush()
    return event


def lock(session: Session, order: Order) -> Order:
    """Lock the order (and a pre-order's campaign, always first) and reload it with its lines."""
    if order.campaign_id is not None:
        locks.lock(session, campaigns.get(session, order.campaign_id))
    locks.lock(session, order)
    session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).execution_options(populate_existing=True)
    ).all()
    session.expire(order, ["lines"])
    return order


def _require(
    session: Session,
    order: Order,
    allowed: tuple[OrderStatus, ...],
    action: str,
    hint: str = "",
    *,
    locked: bool = False,
) -> None:
    """Lock the order, then refuse unless it is in one of the ``allowed`` states (a 409 when it is not)."""
    if not locked:
        lock(session, order)
    if order.status not in allowed:
        raise Conflict(f"order {order.id}: cannot {action} an order that is {order.status}{hint}")


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def pay(session: Session, settings: Settings, order: Order, now: datetime | None = None) -> Order:
    """The seller confirms the money arrived; commissions are written, pending. An order whose hold
    expired is refused even before ``settle`` has cancelled it: its stock is no longer promised."""
    now = now or utcnow()
    _require(session, order, ORDER_ACTIONS["pay"].allowed, "mark paid")
    if order.expires_at is not None and order.expires_at <= now:
        raise Conflict(
            f"order {order.id}: its hold expired at {_when(order.expires_at)}; its stock is released at the "
            "next settle, so place a new order"
        )
    order.status, order.paid_fen, order.paid_at = ORDER_ACTIONS["pay"].becomes, order.total_fen, now
    _event(session, order, "paid", amount=order.total_fen)
    ledger.create_commissions(session, settings, order)
    if order.campaign_id is not None:
        campaigns.note_payment(session, campaigns.get(session, order.campaign_id))
    referrer = session.get(Identity, order.referrer_id) if order.referrer_id else None
    emit_after_commit(
        session,
        "order_paid",
        order_id=order.id,
        total=order.paid_fen,
        referrer=referrer.handle if referrer else None,
    )
    return order


def _shippable(session: Session, order: Order) -> None:
    if order.campaign_id is not None:
        campaign = campaigns.get(session, order.campaign_id)
        if campaign.status != CampaignStatus.FULFILLED:
            raise UserError(
                f"order {order.id}: a pre-order ships once campaign {campaign.id} is fulfilled "
                f"(it is {campaign.status})"
            )


def ship(session: Session, order: Order, now: datetime | None = None) -> Order:
    _require(session, order, ORDER_ACTIONS["ship"].allowed, "ship")
    _shippable(session, order)
    order.status, order.shipped_at = ORDER_ACTIONS["ship"].becomes, now or utcnow()
    _event(session, order, "shipped")
    return order


def deliver(session: Session, settings: Settings, order: Order, now: datetime | None = None) -> Order:
    """Delivery starts the return window; commissions get their release date."""
    _require(session, order, ORDER_ACTIONS["deliver"].allowed, "deliver")
    _shippable(session, order)
    now = now or utcnow()
    order.status, order.delivered_at = ORDER_ACTIONS["deliver"].becomes, now
    order.shipped_at = order.shipped_at or now
    _event(session, order, "delivered")
    ledger.schedule_release(session, settings, order, now)
    return order


def complete(session: Session, order: Order, now: datetime | None = None) -> Order:
    _require(session, order, ORDER_ACTIONS["complete"].allowed, "complete")
    order.status, order.completed_at = ORDER_ACTIONS["complete"].becomes, now or utcnow()
    _event(session, order, "completed")
    return order


def cancel(
    session: Session, order: Order, now: datetime | None = None, reason: str | None = None, *, locked: bool = False
) -> Order:
    """Cancel before payment: the stock comes back (once) and nothing is owed to anyone."""
    if not locked:
        lock(session, order)
    hint = " (refund it instead)" if order.status in PAID_STATES else ""
    _require(session, order, ORDER_ACTIONS["cancel"].allowed, "cancel", hint, locked=True)
    for line in order.lines:
        if order.campaign_id is not None:
            campaigns.give_back(session, order.campaign_id, line.qty)
        else:
            session.execute(update(Product).where(Product.id == line.product_id).values(stock=Product.stock + line.qty))
    order.status, order.cancelled_at = ORDER_ACTIONS["cancel"].becomes, now or utcnow()
    _event(session, order, "cancelled", reason=reason)
    return order


def apply(session: Session, settings: Settings, order: Order, name: str, now: datetime | None = None) -> Order:
    """Do one of ``statuses.ORDER_ACTIONS`` by name: the one way in for the CLI and the console."""
    if name not in ORDER_ACTIONS:
        raise UserError(f"action: {name!r} is not one of {', '.join(ORDER_ACTIONS)}")
    if name == "pay":
        return pay(session, settings, order, now)
    if name == "deliver":
        return deliver(session, settings, order, now)
    step = {"ship": ship, "complete": complete, "cancel": cancel}[name]
    return step(session, order, now)


def expire_holds(session: Session, now: datetime) -> int:
    """Cancel every unpaid order whose hold has expired, releasing its stock; each once, however many
    settles run at once (each order is locked and checked again under the lock)."""
    due = session.scalars(
        select(Order.id).where(Order.status == OrderStatus.PENDING, Order.expires_at <= now).order_by(Order.id)
    ).all()
    cancelled = 0
    for order_id in due:
        order = lock(session, session.get_one(Order, order_id))
        if order.status == OrderStatus.PENDING and order.expires_at is not None and order.expires_at <= now:
            cancel(session, order, now, f"unpaid when its hold expired at {_when(order.expires_at)}", locked=True)
            cancelled += 1
    return cancelled


def _line(session: Session, order: Order, sku: str | None) -> OrderLine:
    if sku is None:
        if len(order.lines) != 1:
            raise UserError(f"sku: order {order.id} has several products; name one with --sku")
        return order.lines[0]
    product = catalog.get(session, sku)
    for line in order.lines:
        if line.product_id == product.id:
            return line
    raise UserError(f"sku: order {order.id} has no {product.sku}")


def refund(
    session: Session,
    order: Order,
    *,
    amount_fen: int | None = None,
    qty: int | str | None = None,
    sku: str | None = None,
    reason: str | None = None,
) -> OrderEvent:
    """Refund part or all of a paid order, by amount or by quantity; commissions are reversed pro rata."""
    lock(session, order)
    hint = " (cancel it instead)" if order.status == OrderStatus.PENDING else ""
    _require(session, order, PAID_STATES, "refund", hint, locked=True)
    refundable = order.paid_fen - order.refunded_fen
    if amount_fen is not None and qty is not None:
        raise UserError("refund: give --amount or --qty, not both")
    if qty is not None:
        line = _line(session, order, sku)
        qty = check_qty(qty)
        left = line.qty - line.refunded_qty
        if qty > left:
            raise Conflict(f"qty: only {left} unit(s) of this line are left to refund")
        line_left = line.qty * line.unit_price_fen - line.refunded_fen
        amount = min(qty * line.unit_price_fen, line_left)
        shares = {line.id: amount}
        line.refunded_qty += qty
    else:
        amount = refundable if amount_fen is None else amount_fen
        if amount <= 0:
            raise UserError("amount: a refund must be more than 0.00")
        if amount > refundable:
            raise Conflict(f"amount: {format_yuan(amount)} is more than the {format_yuan(refundable)} left to refund")
        lefts = [line.qty * line.unit_price_fen - line.refunded_fen for line in order.lines]
        shares = dict(zip((line.id for line in order.lines), split_largest_remainder(amount, lefts), strict=True))
        if amount == refundable:
            for line in order.lines:
                line.refunded_qty = line.qty
    if amount <= 0:
        raise Conflict(f"order {order.id}: nothing is left to refund on that line")
    order.refunded_fen += amount
    if order.refunded_fen == order.paid_fen:
        order.status = OrderStatus.REFUNDED
    event = _event(session, order, "refund", amount=amount, qty=int(qty or 0), reason=reason)
    for line in order.lines:
        if shares.get(line.id):
            line.refunded_fen += shares[line.id]
            ledger.reverse_for_refund(session, line, event)
    return event


def refund_effect(
    session: Session, order: Order, *, amount_fen: int | None = None, qty: int | str | None = None
) -> dict[str, Any]:
    """What a refund would do to the money, before it is done: the refund and each commission's change.

    The refund is made for real inside a savepoint and rolled back, so the figures are the ones the
    refund itself will write (same rounding), and a refund that would be refused raises the same error.
    """
    with session.begin_nested() as savepoint:
        event = refund(session, order, amount_fen=amount_fen, qty=qty)
        session.flush()
        changes = session.execute(
            select(Identity.handle, LedgerEntry.level, LedgerEntry.amount_fen)
            .join(Identity, Identity.id == LedgerEntry.beneficiary_id)
            .where(LedgerEntry.seq == event.id, LedgerEntry.order_id == order.id)
            .order_by(LedgerEntry.level)
        ).all()
        effect = {
            "order_id": order.id,
            "refund": format_yuan(event.amount_fen),
            "status_after": order.status,
            "commissions": [
                {"beneficiary": handle, "level": level, "change": format_yuan(amount)}
                for handle, level, amount in changes
            ],
        }
        savepoint.rollback()
    session.expire(order)
    return effect


def exchange(
    session: Session, order: Order, qty: int | str, sku: str | None = None, reason: str | None = None
) -> OrderEvent:
    """Replace goods that arrived bad: replacements come out of stock; no money moves."""
    _require(session, order, (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED), "exchange goods of")
    line = _line(session, order, sku)
    qty = check_qty(qty)
    left = line.qty - line.refunded_qty - line.exchanged_qty
    if qty > left:
        raise Conflict(f"qty: only {left} unit(s) of this line can still be exchanged")
    product = session.get(Product, line.product_id)
    assert product is not None
    reserve_stock(session, product, qty)
    line.exchanged_qty += qty
    return _event(session, order, "exchange", qty=qty, reason=reason)


def list_orders(session: Session, status: str | None = None, buyer: str | None = None) -> list[Order]:
    query = select(Order).order_by(Order.id)
    if status:
        query = query.where(Order.status == status)
    if buyer:
        query = query.where(Order.buyer_id.in_(identities.matching(session, buyer)))
    return list(session.scalars(query))


def as_dict(session: Session, order: Order) -> dict[str, Any]:
    names = {
        i.id: i.name
        for i in session.scalars(
            select(Identity).where(Identity.id.in_([order.buyer_id, order.referrer_id or order.buyer_id]))
        )
    }
    first = order.lines[0]
    product = session.get(Product, first.product_id)
    return {
        "id": order.id,
        "status": order.status,
        "buyer": names[order.buyer_id],
        "sku": product.sku if product else None,
        "qty": first.qty,
        "total": format_yuan(order.total_fen),
        "paid": format_yuan(order.paid_fen),
        "refunded": format_yuan(order.refunded_fen),
        "exchanged_qty": sum(line.exchanged_qty for line in order.lines),
        "attribution": {
            "referrer": names.get(order.referrer_id) if order.referrer_id else None,
            "rule": order.attribution_rule,
            "click_id": order.attribution_click_id,
            "no_commission_reason": order.attribution_note,
        },
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat()
        if order.status == OrderStatus.PENDING and order.expires_at
        else None,
    }
