"""Group-buy campaigns in the console: opening and closing them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from weishang_core import (
    campaigns,
    catalog,
    settlement,
)
from weishang_core.clock import parse_when
from weishang_core.models import Campaign, utcnow
from weishang_core.validation import parse_whole
from weishang_webstore.console.common import back, console_router, view
from weishang_webstore.deps import SessionDep, StaffDep, StoreDep
from weishang_webstore.params import RowId

router = console_router()


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    shown = [campaigns.as_dict(session, c) for c in session.scalars(select(Campaign).order_by(Campaign.id.desc()))]
    return view(request, "console/campaigns.html", me, campaigns=shown, products=catalog.list_all(session))


@router.post("/campaigns")
def create_campaign(
    store: StoreDep,
    me: StaffDep,
    sku: Annotated[str, Form(max_length=64)],
    target: Annotated[str, Form(max_length=20)],
    days: Annotated[int, Form(ge=1, le=365)] = 7,
    max_qty: Annotated[str, Form(max_length=9)] = "",
    deadline: Annotated[str, Form(max_length=40)] = "",
) -> RedirectResponse:
    when = parse_when(deadline, store.settings.tz, "deadline") if deadline.strip() else utcnow() + timedelta(days=days)
    units = parse_whole(max_qty, "max_qty", 1, 1_000_000, "a whole number of units") if max_qty.strip() else None
    with store.maker.begin() as session:
        made = campaigns.create(session, sku, target, when, max_qty=units)
        number = made.id
    return back("/console/campaigns", f"campaign {number} is open")


@router.post("/campaigns/{campaign_id}/close")
def close_campaign(store: StoreDep, campaign_id: RowId, me: StaffDep) -> RedirectResponse:
    with store.maker.begin() as session:
        closed = settlement.close_campaign(session, campaigns.get(session, campaign_id))
        status = closed.status
    return back("/console/campaigns", f"campaign {campaign_id} is {status}")
