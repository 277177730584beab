"""What every console page shares: its router, the page with the signed-in person, and "done" redirects."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from weishang_webstore import form_once
from weishang_webstore.deps import Staff
from weishang_webstore.store import store_of
from weishang_webstore.transactions import CommitInThread


def console_router() -> APIRouter:
    return APIRouter(prefix="/console", include_in_schema=False, route_class=CommitInThread)  # pages, not an API


def view(request: Request, name: str, me: Staff, status: int = 200, **context: Any) -> HTMLResponse:
    return store_of(request).page(request, name, status, me=me.person, csrf=me.csrf,
                                  msg=request.query_params.get("msg"), once=form_once.new, **context)  # fmt: skip


def where(path: str, msg: str) -> str:
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}msg={quote(msg)}"


def back(path: str, msg: str) -> RedirectResponse:
    return RedirectResponse(where(path, msg), status_code=303)
