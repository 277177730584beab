"""One click from ``/me``: a reseller posts a product to every outlet account of theirs, after a preview,
and follows the posts as they go out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from weishang_core import distribution, tasks
from weishang_core.errors import NotFound, UserError
from weishang_core.models import Post
from weishang_webstore import listing, sharing
from weishang_webstore.cookies import Visitor
from weishang_webstore.deps import ResellerDep, ResellerPageDep, SessionDep, StoreDep, VisitorDep, reseller
from weishang_webstore.params import id_list
from weishang_webstore.store import Store
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


class DistributeIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


def distribute_for(
    request: Request, store: Store, data: DistributeIn, visitor: Visitor, csrf: str | None = None
) -> tuple[list[int], int]:
    """Plan the posts in a transaction of their own, then send them off: workers must see them committed."""
    with store.maker.begin() as session:
        if csrf is not None:
            visitor.check(csrf)
        person = reseller(request, session)
        if listing.listed_product(session, data.sku) is None:
            raise NotFound(f"sku: no product {data.sku!r} in this store")
        if sharing.outlet_count(session, person) == 0:
            raise UserError("outlets: you have no outlet accounts yet; ask the seller to connect yours")
        posts = distribution.plan(session, store.settings, data.sku, person.handle, data.note)
        queued = [post.id for post in posts if post.status == "queued"]
    tasks.dispatch(store.settings, queued)
    return [post.id for post in posts], len(queued)


@router.post("/api/me/distribute", status_code=202)
def api_distribute(data: DistributeIn, request: Request, store: StoreDep, visitor: VisitorDep) -> dict[str, Any]:
    """One click: post the product to every outlet account of the signed-in reseller."""
    ids, queued = distribute_for(request, store, data, visitor)
    return {"queued": queued, "posts": ids, "follow": f"/api/me/posts?ids={','.join(map(str, ids))}"}


@router.post("/me/distribute")
def distribute_form(
    request: Request,
    store: StoreDep,
    visitor: VisitorDep,
    sku: Annotated[str, Form(max_length=64)],
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    ids, _ = distribute_for(request, store, DistributeIn(sku=sku, note=note), visitor, csrf)
    return RedirectResponse(f"/me/posts?ids={','.join(map(str, ids))}", status_code=303)


@router.get("/me/distribute/{sku}", response_class=HTMLResponse)
def distribute_preview(
    sku: str,
    request: Request,
    store: StoreDep,
    visitor: VisitorDep,
    session: SessionDep,
    person: ResellerPageDep,
    note: str = "",
) -> HTMLResponse:
    """What one click would post on each of the reseller's outlets, before it is pressed."""
    product = listing.listed_product(session, sku)
    if product is None:
        raise NotFound(f"sku: no product {sku!r} in this store")
    response = store.page(
        request, "distribute_preview.html", layout="me_layout.html", product=product, note=note[:2000],
        outlets=distribution.preview(session, store.settings, product.sku, person.handle, note[:2000]),
        action="/me/distribute", back="/me", sku_field=True, csrf=visitor.csrf,
    )  # fmt: skip
    return visitor.keep(response)  # type: ignore[return-value]


def post_ids(ids: str) -> list[int]:
    return id_list(ids, "ids", required=False)


@router.get("/me/posts", response_class=HTMLResponse)
def distribute_status(request: Request, store: StoreDep, person: ResellerPageDep, ids: str = "") -> HTMLResponse:
    feed = f"/api/me/posts?ids={ids}" if post_ids(ids) else "/api/me/posts"
    return store.page(request, "distribute_status.html", layout="me_layout.html", feed=feed, back="/me")


@router.get("/api/me/posts")
def api_posts(session: SessionDep, person: ResellerDep, ids: str = "") -> list[dict[str, Any]]:
    """The signed-in reseller's posts: the latest 50, or the ones named in ``ids`` (their own only)."""
    query = select(Post).where(Post.poster_id == person.id)
    wanted = post_ids(ids)
    query = query.where(Post.id.in_(wanted)).order_by(Post.id) if wanted else query.order_by(Post.id.desc()).limit(50)
    return [_for_the_web(distribution.as_dict(session, post)) for post in session.scalars(query)]


def _for_the_web(post: dict[str, Any]) -> dict[str, Any]:
    """A share kit's "URL" is a folder on the seller's machine: the seller's CLI shows it, a phone never."""
    if not str(post.get("url") or "").startswith(("http://", "https://")):
        post["url"] = None
    return post
