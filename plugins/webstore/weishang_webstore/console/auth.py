"""The console's sign-in: a single-use link from ``weishang console-link``, and signing out."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from weishang_core import (
    sessions,
)
from weishang_webstore import console_auth
from weishang_webstore.console.common import console_router
from weishang_webstore.console_auth import COOKIE, SESSION_AGE, BadLink
from weishang_webstore.deps import SessionDep, StaffDep, StoreDep

router = console_router()


LOGIN_ERROR = "console-login-error"  # only a refusal this store signed is shown: the page is no notice board


@router.get("/login", response_class=HTMLResponse)
def login(store: StoreDep, request: Request) -> HTMLResponse:
    error = store.signer().unsign(LOGIN_ERROR, request.query_params.get("error"), 600)
    return store.page(request, "console/login.html", 401, error=error)


@router.get("/signin")
def signin(store: StoreDep, t: str, request: Request, session: SessionDep) -> RedirectResponse:
    try:
        _, cookie = console_auth.redeem(session, store.signer(), t, request.headers.get("user-agent"))
    except BadLink as exc:
        error = quote(store.signer().sign(LOGIN_ERROR, str(exc)))
        return RedirectResponse(f"/console/login?error={error}", status_code=303)
    response = RedirectResponse("/console", status_code=303)
    response.set_cookie(COOKIE, cookie, max_age=SESSION_AGE, path="/console", **store.cookies)
    return response


@router.post("/signout")
def signout(store: StoreDep, request: Request, session: SessionDep, me: StaffDep) -> RedirectResponse:
    sessions.end_token(session, request.cookies.get(COOKIE), "signed out")  # the cookie is dead everywhere
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/console", **store.cookies)
    return response
