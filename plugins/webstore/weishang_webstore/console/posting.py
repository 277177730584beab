"""One click in the console: a product's preview per outlet, distributing it, and its live status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from weishang_core import (
    catalog,
    distribution,
    tasks,
)
from weishang_core.models import Post
from weishang_webstore.console.common import console_router, view
from weishang_webstore.deps import SessionDep, StaffDep, StoreDep
from weishang_webstore.params import id_list

router = console_router()


@router.get("/products/{sku}/distribute", response_class=HTMLResponse)
def preview(
    store: StoreDep, sku: str, request: Request, session: SessionDep, me: StaffDep, note: str = ""
) -> HTMLResponse:
    product = catalog.get(session, sku)
    outlets = distribution.preview(session, store.settings, product.sku, None, note[:2000])
    return view(
        request, "distribute_preview.html", me, product=product, outlets=outlets, note=note,
        action=f"/console/products/{product.sku}/distribute", back="/console/products", layout="console/base.html",
    )  # fmt: skip


@router.post("/products/{sku}/distribute")
def distribute(
    store: StoreDep, sku: str, me: StaffDep, note: Annotated[str, Form(max_length=2000)] = ""
) -> RedirectResponse:
    with store.maker.begin() as session:
        posts = distribution.plan(session, store.settings, sku, None, note)
        ids = [post.id for post in posts]
        queued = [post.id for post in posts if post.status == "queued"]
    tasks.dispatch(store.settings, queued)
    return RedirectResponse(f"/console/posts?ids={','.join(map(str, ids))}", status_code=303)


def wanted_ids(ids: str) -> list[int]:
    return id_list(ids, "ids", required=True)


@router.get("/posts", response_class=HTMLResponse)
def status_page(request: Request, me: StaffDep, ids: str) -> HTMLResponse:
    wanted_ids(ids)
    return view(
        request, "distribute_status.html", me, feed=f"/console/api/posts?ids={ids}", back="/console/products",
        layout="console/base.html",
    )  # fmt: skip


@router.get("/api/posts")
def posts_feed(session: SessionDep, me: StaffDep, ids: str) -> list[dict[str, Any]]:
    found = session.scalars(select(Post).where(Post.id.in_(wanted_ids(ids))).order_by(Post.id))
    return [distribution.as_dict(session, post) for post in found]
