"""The shop window: the health check, the store's front page and a product page (where a viral link lands)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import campaigns, referrals
from weishang_core.errors import NotFound
from weishang_core.models import Identity, Post, utcnow
from weishang_core.money import format_yuan
from weishang_webstore import listing
from weishang_webstore.cookies import Visitor
from weishang_webstore.deps import StoreDep, VisitorDep
from weishang_webstore.store import Store
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


@router.get("/healthz")
def healthz(store: StoreDep) -> dict[str, str]:
    with store.maker() as session:  # not the session dependency: see `product_page`
        session.execute(select(1))
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, store: StoreDep, via: str | None = None) -> HTMLResponse:
    with store.maker.begin() as session:  # its own session, not the session dependency: see product_page
        link = referrals.find_link(session, via) if via and len(via) <= 32 else None
        recommender = session.get(Identity, link.reseller_id) if link else None
        products = listing.list_products(session)
        return store.page(request, "store.html", products=products, yuan=format_yuan, recommender=recommender)


@router.get("/p/{sku}", response_class=HTMLResponse)
def product_page(sku: str, request: Request, store: StoreDep, visitor: VisitorDep, via: str | None = None) -> Response:
    """Where a viral link lands. Its own short session, not the session dependency: under a burst that
    dependency's connections came back only after the response was sent, the pool ran dry and the
    server stalled (bench/viral_landing.py at 256 connections)."""
    with store.maker.begin() as session:
        return product_page_in(sku, request, store, session, visitor, via)


def campaign_shown(session: Session, product: object) -> dict[str, object] | None:
    live = campaigns.live_for(session, product)  # type: ignore[arg-type]
    if live is None:
        return None
    campaign = campaigns.as_dict(session, live)
    left = live.deadline - utcnow()
    campaign["left"] = f"{left.days} 天 {left.seconds // 3600} 小時 · {left.days} d {left.seconds // 3600} h left"
    campaign["units_left"] = (live.max_qty - live.sold_qty) if live.max_qty else None
    return campaign


def product_page_in(
    sku: str, request: Request, store: Store, session: Session, visitor: Visitor, via: str | None
) -> Response:
    product = listing.listed_product(session, sku)
    if product is None:
        raise NotFound(f"sku: no product {sku!r} in this store")
    recommender, note = None, None
    link = referrals.find_link(session, via) if via and len(via) <= 32 else None
    if link is not None:
        recommender = session.get_one(Identity, link.reseller_id)
        note = session.scalar(
            select(Post.note)
            .where(Post.poster_id == recommender.id, Post.product_id == product.id, Post.note != "")
            .order_by(Post.id.desc())
            .limit(1)
        )
    response = store.page(
        request,
        "product.html",
        campaign=campaign_shown(session, product),
        product=product,
        price=format_yuan(product.price_fen),
        recommender=recommender,
        note=note,
        ref=link.code if link else "",
        csrf=visitor.csrf,
        form_key=secrets.token_urlsafe(12),
    )
    return visitor.keep(response)
