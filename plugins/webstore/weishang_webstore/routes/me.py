"""The signed-in person's own page: a reseller's links, clicks, commissions and share kits; a buyer's orders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from weishang_webstore import dashboard, sharing, signin
from weishang_webstore.deps import (
    ClicksFlushed,
    ResellerDep,
    SessionDep,
    SignedInDep,
    SignedInPageDep,
    StoreDep,
    VisitorDep,
)
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


@router.get("/api/me", dependencies=[ClicksFlushed])
def api_me(store: StoreDep, session: SessionDep, found: SignedInDep) -> dict[str, Any]:
    """The signed-in reseller's own links, clicks, orders, commissions, payouts and downline (a signed-in
    buyer's own orders); their identifiers unmasked, as they are their own."""
    person = found[1]
    if not person.is_reseller:
        return dashboard.for_buyer(session, person, store.signer())
    return dashboard.for_reseller(session, store.settings, person)


@router.get("/me", response_class=HTMLResponse)
def me_page(
    request: Request, store: StoreDep, visitor: VisitorDep, session: SessionDep, found: SignedInPageDep
) -> HTMLResponse:
    person = found[1]
    shown = signin.sessions_shown(session, request)
    if not person.is_reseller:
        mine = dashboard.for_buyer(session, person, visitor.sign)
        return visitor.keep(  # type: ignore[return-value]
            store.page(request, "me_buyer.html", me=mine, sessions=shown, csrf=visitor.csrf)
        )
    response = store.page(
        request,
        "me.html",
        me=dashboard.for_reseller(session, store.settings, person),
        kits=sharing.kits(session, store.settings, person),
        outlets=sharing.outlet_count(session, person),
        sessions=shown,
        csrf=visitor.csrf,
    )
    return visitor.keep(response)  # type: ignore[return-value]


@router.get("/api/me/kits")
def api_kits(store: StoreDep, session: SessionDep, person: ResellerDep) -> list[dict[str, Any]]:
    """The signed-in reseller's share kit per product: their link, a caption to paste, a QR code."""
    return sharing.kits(session, store.settings, person)
