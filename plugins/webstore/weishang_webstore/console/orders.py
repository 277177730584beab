"""Orders in the console: the list, one order with its commissions, status changes, refunds and exchanges
(each shown first, then done once per form)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import (
    ledger,
    orders,
)
from weishang_core.errors import UserError
from weishang_core.models import Identity, LedgerEntry, Product
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.statuses import ORDER_ACTIONS, OrderStatus
from weishang_webstore import form_once
from weishang_webstore.console.common import console_router, view, where
from weishang_webstore.deps import FormDep, SessionDep, StaffDep, StoreDep
from weishang_webstore.params import RowId

router = console_router()


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, session: SessionDep, me: StaffDep, status: str = "", buyer: str = "") -> HTMLResponse:
    found = orders.list_orders(session, status or None, buyer or None)
    shown = [orders.as_dict(session, o) for o in reversed(found)][:200]
    statuses = tuple(OrderStatus)
    return view(request, "console/orders.html", me, orders=shown, wanted=status, buyer=buyer, statuses=statuses)


def order_commissions(session: Session, order_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(LedgerEntry, Identity)
        .join(Identity, Identity.id == LedgerEntry.beneficiary_id)
        .where(LedgerEntry.order_id == order_id)
        .order_by(LedgerEntry.id)
    )
    return [ledger.entry_dict(entry, person.name) for entry, person in rows]


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(order_id: RowId, request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    order = orders.get(session, order_id)
    return view(request, "console/order.html", me, order=orders.as_dict(session, order),
                commissions=order_commissions(session, order.id), actions=tuple(ORDER_ACTIONS))  # fmt: skip


@router.post("/orders/{order_id}/status")
def order_status(
    store: StoreDep, order_id: RowId, me: StaffDep, form: FormDep, action: Annotated[str, Form(max_length=16)]
) -> RedirectResponse:
    if action not in ORDER_ACTIONS:  # before the form is spent
        raise UserError(f"action: {action!r} is not one of {', '.join(ORDER_ACTIONS)}")

    def act(session: Session) -> str:
        order = orders.apply(session, store.settings, orders.get(session, order_id), action)
        return where(f"/console/orders/{order_id}", f"order {order_id} is {order.status}")

    return form_once.run(store.maker, form, act)


@router.post("/orders/{order_id}/refund", response_model=None)
def refund(
    store: StoreDep,
    order_id: RowId,
    request: Request,
    me: StaffDep,
    form: FormDep,
    amount: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Without ``confirm``: a page showing the refund's effect on each commission. With it: the refund."""
    amount_fen = parse_yuan(amount, "amount", allow_zero=False) if amount.strip() else None
    if confirm != "yes":
        with store.maker.begin() as session:
            effect = orders.refund_effect(session, orders.get(session, order_id), amount_fen=amount_fen)
            return view(request, "console/refund_confirm.html", me, effect=effect, amount=amount, reason=reason)

    def act(session: Session) -> str:
        event = orders.refund(session, orders.get(session, order_id), amount_fen=amount_fen, reason=reason or None)
        done = format_yuan(event.amount_fen)
        return where(f"/console/orders/{order_id}", f"refunded ¥{done}; commissions reversed in proportion")

    return form_once.run(store.maker, form, act)


@router.post("/orders/{order_id}/exchange", response_model=None)
def exchange(
    store: StoreDep,
    order_id: RowId,
    request: Request,
    me: StaffDep,
    form: FormDep,
    qty: Annotated[str, Form(max_length=6)],
    reason: Annotated[str, Form(max_length=500)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Replacement units leave stock; no money moves, so every commission stays as it is (shown first)."""
    if confirm != "yes":
        with store.maker.begin() as session:
            order = orders.get(session, order_id)
            with session.begin_nested() as savepoint:  # refused exactly as the exchange itself would be
                orders.exchange(session, order, qty, reason=reason or None)
                savepoint.rollback()
            shown = orders.as_dict(session, order)
            stock = session.scalar(select(Product.stock).where(Product.sku == shown["sku"]))
            return view(request, "console/exchange_confirm.html", me, order=shown, qty=qty.strip(), reason=reason,
                        stock=stock, commissions=order_commissions(session, order_id))  # fmt: skip

    def act(session: Session) -> str:
        orders.exchange(session, orders.get(session, order_id), qty, reason=reason or None)
        return where(f"/console/orders/{order_id}", f"{qty} unit(s) exchanged; no money moved")

    return form_once.run(store.maker, form, act)
