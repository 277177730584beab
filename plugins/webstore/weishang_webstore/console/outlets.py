"""Outlet accounts in the console: connecting one (OAuth2 in the browser where the channel uses it), checking it."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from weishang_core import (
    accounts,
    distribution,
)
from weishang_core.clock import local_day
from weishang_core.errors import ChannelError, UserError
from weishang_core.models import OutletAccount, utcnow
from weishang_core.plugins import get_channel, get_channels
from weishang_core.validation import parse_whole
from weishang_webstore.console.common import back, console_router, view
from weishang_webstore.deps import FormDep, SessionDep, StaffDep, StoreDep

router = console_router()

OAUTH_AGE = 15 * 60


def callback_url(settings: Any) -> str:
    return f"{settings.store_url}/console/oauth/callback"


@router.get("/outlets", response_class=HTMLResponse)
def outlets(store: StoreDep, request: Request, session: SessionDep, me: StaffDep) -> HTMLResponse:
    today = distribution.posts_today(session, local_day(utcnow(), store.settings.tz))
    installed = get_channels()
    shown = [
        {**accounts.as_dict(a), "today": today.get(a.id, 0), "oauth": a.channel in installed
         and installed[a.channel].uses_oauth}
        for a in accounts.list_all(session)
    ]  # fmt: skip
    channels = sorted(installed.values(), key=lambda c: c.name)
    return view(request, "console/outlets.html", me, outlets=shown, channels=channels)


@router.get("/outlets/new", response_class=HTMLResponse)
def new_outlet(store: StoreDep, request: Request, me: StaffDep, channel: str) -> HTMLResponse:
    return view(
        request, "console/outlet_form.html", me, channel=get_channel(channel), callback=callback_url(store.settings)
    )


@router.post("/outlets/new")
def create_outlet(store: StoreDep, me: StaffDep, form: FormDep) -> Response:
    channel = get_channel(str(form.get("channel", "")))
    options = {o.name: str(form.get(f"opt_{o.name}", "")).strip() for o in channel.options}
    cap = parse_whole(str(form.get("daily_cap", "4")), "daily_cap", 1, 1000, "a whole number of posts a day")
    with store.maker.begin() as session:
        owner = str(form.get("owner", "")).strip() or None
        account = accounts.add(session, channel.name, str(form.get("name", "")).strip(), owner,
                               {k: v for k, v in options.items() if v}, cap)  # fmt: skip
        name = account.name
    if channel.uses_oauth:
        return RedirectResponse(f"/console/outlets/{quote(name)}/authorize", status_code=303)
    return back("/console/outlets", f"{name} connected")


@router.get("/outlets/{name}/authorize")
def authorize(store: StoreDep, name: str, session: SessionDep, me: StaffDep) -> RedirectResponse:
    account = accounts.get(session, name)
    channel = get_channel(account.channel)
    if not channel.uses_oauth:
        raise UserError(f"{name}: {channel.name} accounts are not connected through OAuth")
    state = store.signer().sign("oauth", f"{account.id}:{secrets.token_urlsafe(8)}")
    return RedirectResponse(channel.authorize_url(accounts.view(account), state), status_code=303)


@router.get("/oauth/callback")
def oauth_callback(
    store: StoreDep, me: StaffDep, state: str = "", code: str = "", error: str = "", error_description: str = ""
) -> RedirectResponse:
    """Where the outlet sends the browser back: the state names the account and was signed here."""
    with store.maker() as session:
        payload = store.signer().unsign("oauth", state, OAUTH_AGE)
        account = session.get(OutletAccount, int(payload.split(":")[0])) if payload else None
        if account is None:
            raise UserError("state: this authorisation did not start here or took too long; connect again")
        name, channel, record = account.name, get_channel(account.channel), accounts.view(account)
    if error or not code:
        return back("/console/outlets", f"{name}: the outlet said {error or 'no code'} {error_description}".strip())
    try:
        message = channel.connect(record, code)
    except ChannelError as exc:
        return back("/console/outlets", f"{name}: {exc}")
    with store.maker.begin() as session:
        accounts.save_state(session, name, record.state)
    return back("/console/outlets", f"{name}: {message}")


@router.post("/outlets/{name}/check")
def check_outlet(store: StoreDep, name: str, me: StaffDep) -> RedirectResponse:
    with store.maker() as session:
        account = accounts.get(session, name)
        channel, record = get_channel(account.channel), accounts.view(account)
    try:
        message = f"{name}: ok, {channel.check(record)}"
    except ChannelError as exc:
        message = f"{name}: not working: {exc}"
    with store.maker.begin() as session:
        accounts.save_state(session, name, record.state)
    return back("/console/outlets", message)
