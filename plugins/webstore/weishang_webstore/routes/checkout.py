"""Checkout: placing an order (JSON or the product page's form), the order's page, and a buyer of a
delivered order becoming a reseller. Attribution comes from the signed visitor cookie or a ``ref`` code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from weishang_core import idempotency, identities, orders, payments, referrals
from weishang_core.errors import Forbidden, NotFound
from weishang_core.models import Identity, Order
from weishang_core.statuses import OrderStatus
from weishang_webstore import listing, signin
from weishang_webstore.cookies import Visitor, with_session
from weishang_webstore.deps import ClicksFlushed, SessionDep, StoreDep, VisitorDep
from weishang_webstore.landing import YEAR
from weishang_webstore.params import RowId
from weishang_webstore.signing import Signer
from weishang_webstore.store import Store
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


class Buyer(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    contact: str = Field(default="", max_length=200)


class OrderIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(default=1, ge=1, le=999, strict=True)  # true or "2" is not a quantity
    buyer: Buyer
    ref: str | None = Field(default=None, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class ResellerIn(BaseModel):
    order_token: str = Field(min_length=1, max_length=200, description="the token from the order page's address")


def place(
    session: Session, store: Store, data: OrderIn, visitor: str | None, key_field: str = "idempotency_key"
) -> tuple[Order, str]:
    """Place the order; a key replays the first order of the same visitor only (see ``idempotency``)."""
    if listing.listed_product(session, data.sku) is None:
        raise NotFound(f"sku: no product {data.sku!r} in this store")
    identities.check_handle(data.buyer.name, "buyer.name")
    orders.check_contact(data.buyer.contact, "buyer.contact")
    contact = (data.buyer.contact or "").strip() or None
    asked = {"sku": data.sku, "qty": data.qty, "buyer": data.buyer.name, "contact": contact or "",
             "ref": data.ref or ""}  # fmt: skip
    scoped = idempotency.scope(visitor, data.idempotency_key, asked, key_field)
    order = idempotency.create_once(
        session,
        scoped,
        lambda key, digest: orders.create(
            session,
            store.settings,
            data.sku,
            data.qty,
            identities.Guest(data.buyer.name, contact, visitor),  # a new person unless this browser is one
            contact=contact,
            ref=data.ref or None,
            visitor_id=visitor,
            idempotency_key=key,
            idempotency_hash=digest,
        ),
    )
    return order, store.signer().sign("order", str(order.id))


@router.post("/api/orders", status_code=201, dependencies=[ClicksFlushed])
def api_order(data: OrderIn, store: StoreDep, visitor: VisitorDep, session: SessionDep) -> dict[str, Any]:
    """Place an order; attribution from the signed visitor cookie or the explicit ``ref`` code."""
    order, token = place(session, store, data, visitor.known)
    return {"order": orders.as_dict(session, order), "token": token, "url": f"/orders/{order.id}?t={token}"}


@router.post("/buy", dependencies=[ClicksFlushed])
def buy_form(
    store: StoreDep,
    visitor: VisitorDep,
    session: SessionDep,
    sku: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    key: Annotated[str, Form(min_length=8, max_length=64)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    qty: Annotated[int, Form(ge=1, le=999)] = 1,
    contact: Annotated[str, Form(max_length=200)] = "",
    ref: Annotated[str, Form(max_length=32)] = "",
) -> RedirectResponse:
    known = visitor.check(csrf)
    data = OrderIn(sku=sku, qty=qty, buyer=Buyer(name=name, contact=contact), ref=ref or None, idempotency_key=key)
    order, token = place(session, store, data, known, "key")
    return RedirectResponse(f"/orders/{order.id}?t={token}", status_code=303)


def order_by_token(session: Session, sign: Signer, order_id: int, token: str | None) -> tuple[Order, str]:
    if sign.unsign("order", token, YEAR) != str(order_id):
        raise NotFound(f"order: no order {order_id} for this address")
    return orders.get(session, order_id), token or ""


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: RowId, request: Request, store: StoreDep, visitor: VisitorDep, session: SessionDep, t: str | None = None
) -> HTMLResponse:
    order, token = order_by_token(session, visitor.sign, order_id, t)
    buyer = session.get_one(Identity, order.buyer_id)
    shown = orders.as_dict(session, order)
    holds_until = order.expires_at if shown["expires_at"] else None  # only an unpaid order's hold is shown
    response = store.page(
        request,
        "order.html",
        order=shown,
        pay=payments.store_method().instructions(shown) if order.status == OrderStatus.PENDING else None,
        pay_by=f"{holds_until.astimezone(store.settings.tz):%Y-%m-%d %H:%M}" if holds_until else None,
        token=token,
        can_resell=referrals.qualifies(order) and not buyer.is_reseller,
        is_reseller=buyer.is_reseller,
        csrf=visitor.csrf,
    )
    return visitor.keep(response)  # type: ignore[return-value]


def _only_its_buyer(session: Session, request: Request, visitor: Visitor, order: Order) -> None:
    """An order's address may be passed round a chat; becoming a reseller signs in as the buyer, so it takes
    the buyer's own browser too: the one that placed the order, or one signed in as them (a code)."""
    if order.visitor_id is not None and visitor.known == order.visitor_id:
        return
    found = signin.signed_in(session, request)
    if found is not None and found[1].id == order.buyer_id:
        return
    raise Forbidden(
        "order_token: open it on the phone that placed the order, or first sign in with a code sent to your phone"
    )


def make_reseller(
    session: Session, store: Store, request: Request, visitor: Visitor, order_token: str
) -> tuple[Identity, str, str]:
    order_id = visitor.sign.unsign("order", order_token, YEAR)
    if order_id is None:
        raise NotFound("order_token: not a valid order address")
    order = orders.get(session, order_id)
    _only_its_buyer(session, request, visitor, order)
    reseller = referrals.become_reseller(session, order)  # this very order must qualify
    link = referrals.link_for(session, reseller, None)
    token = signin.begin(session, reseller, request, visitor.known)
    return reseller, referrals.link_url(store.settings, link.code), token


@router.post("/api/resellers", status_code=201)
def api_reseller(
    data: ResellerIn, request: Request, store: StoreDep, visitor: VisitorDep, session: SessionDep
) -> dict[str, Any]:
    """The buyer of the token's delivered order becomes a reseller under whoever they bought through."""
    reseller, link, session_token = make_reseller(session, store, request, visitor, data.order_token)
    sponsor = session.get(Identity, reseller.sponsor_id) if reseller.sponsor_id else None
    return {"name": reseller.handle, "sponsor": sponsor.handle if sponsor else None, "link": link,
            "token": session_token}  # fmt: skip


@router.post("/become-reseller")
def become_form(
    request: Request,
    store: StoreDep,
    visitor: VisitorDep,
    session: SessionDep,
    order_token: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    visitor.check(csrf)
    _, _, session_token = make_reseller(session, store, request, visitor, order_token)
    return with_session(RedirectResponse("/me", status_code=303), session_token, store.cookies)  # type: ignore[return-value]
