"""The web store: referral landing, product pages, checkout, becoming a reseller, the reseller's own page.

Pages are server-rendered Jinja2 for phones (buyers arrive from WeChat); the JSON API beside them has
its OpenAPI document at ``/openapi.json``. Every request is one transaction through the core's
services; a ``UserError`` becomes a 4xx with ``{"error": "…"}``. Cookies are signed and HttpOnly: a
tampered one is ignored, never trusted. HTML form posts carry a CSRF token bound to the visitor cookie.
"""

import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from weishang_core import campaigns, distribution, idempotency, identities, orders, payments, referrals, tasks
from weishang_core.config import Settings, load_settings
from weishang_core.db import get_sessionmaker, pool_size
from weishang_core.errors import Conflict, NotFound, UserError
from weishang_core.models import Identity, Order, Post, Product, utcnow
from weishang_core.money import format_yuan
from weishang_webstore import dashboard, listing, sharing, signin
from weishang_webstore.body_limit import LimitBody
from weishang_webstore.clicks import ClickBuffer
from weishang_webstore.console import add_console
from weishang_webstore.headers import SecurityHeaders, cookie_flags
from weishang_webstore.landing import VISITOR, YEAR, Landing
from weishang_webstore.nul_guard import RefuseNul
from weishang_webstore.params import RowId, id_list
from weishang_webstore.signin import Forbidden, Unauthorized, magic_link  # noqa: F401  (magic_link: commands)
from weishang_webstore.signing import Signer, store_secret
from weishang_webstore.transactions import CommitInThread, request_session

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


class Buyer(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    contact: str = Field(default="", max_length=200)


class OrderIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(default=1, ge=1, le=999)
    buyer: Buyer
    ref: str | None = Field(default=None, max_length=32)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=64)


class DistributeIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    note: str = Field(default="", max_length=2000)


class ResellerIn(BaseModel):
    order_token: str = Field(min_length=1, max_length=200, description="the token from the order page's address")


def database_unavailable(exc: Exception) -> JSONResponse | None:
    """The database is restarting or out of connections: say so, and when to try again; never a 500."""
    if not isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return None
    logging.getLogger("weishang.webstore").warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse({"error": "database: unavailable for a moment; try again"}, 503, {"Retry-After": "2"})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    maker = get_sessionmaker(settings.database_url)
    cookies = cookie_flags(settings.store_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # As many request threads as the pool has connections for (less one for the click writer), so a
        # request never waits on the pool behind another request's thread (see db.pool_size).
        to_thread.current_default_thread_limiter().total_tokens = max(1, pool_size() - 1)
        yield
        app.state.clicks.close()  # write what is buffered before the server stops

    app = FastAPI(title="weishang web store", version="0.1.0", lifespan=lifespan)
    app.router.route_class = CommitInThread

    def db() -> Iterator[Session]:
        """One transaction per request. Its scope is the endpoint ("function"): FastAPI's default runs the
        commit after the response is sent, so a 201 could reach the buyer for an order whose commit then
        failed (tests/test_database_outage.py caught one). The signing key is read before the request's
        session takes its connection: a request never holds one pooled connection while asking for another
        (64 first buyers at once used to hold 15 and wait for 15 more until the pool timed out)."""
        cached_signer()
        yield from request_session(maker)

    DB = Annotated[Session, Depends(db, scope="function")]  # committed before the answer, never after

    secret: list[bytes] = []  # the store's signing key, read once per process

    def signer(session: Session) -> Signer:
        if not secret:
            secret.append(store_secret(session))
        return Signer(secret[0])

    def cached_signer() -> Signer:
        if not secret:
            with maker.begin() as session:
                secret.append(store_secret(session))
        return Signer(secret[0])

    def visitor_of(request: Request, sign: Signer) -> str | None:
        return sign.unsign("visitor", request.cookies.get(VISITOR), YEAR)

    def me_of(request: Request, session: Session) -> Identity | None:
        """The signed-in reseller (a server-side store session), or None."""
        found = signin.signed_in(session, request)
        return found[1] if found is not None and found[1].is_reseller else None

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, name, {"store": settings.store_url, **context}, status_code=status)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> Response:
        status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
        if request.url.path.startswith("/api/") or "json" in request.headers.get("accept", ""):
            return JSONResponse({"error": str(exc)}, status)
        return page(request, "error.html", status, message=str(exc))

    @app.exception_handler(IntegrityError)
    async def clashed(request: Request, exc: IntegrityError) -> Response:
        """Two requests wrote the same unique thing at once and the database kept the first: a 409."""
        logging.getLogger("weishang.webstore").warning("write refused by a constraint: %s", type(exc.orig).__name__)
        return await user_error(request, Conflict("conflict: another request changed this at the same moment; reload"))

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def database_away(request: Request, exc: Exception) -> JSONResponse:
        return database_unavailable(exc)  # type: ignore[return-value]

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": ["body"], "msg": "invalid request"}
        field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
        return JSONResponse({"error": f"{field}: {first.get('msg')}", "details": jsonable(exc.errors())}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=getattr(exc, "headers", None))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        with maker() as session:  # not the DB dependency: see `read` below
            session.execute(select(1))
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, via: str | None = None) -> HTMLResponse:
        with maker.begin() as session:  # its own session, not the DB dependency: see product_page
            return home_in(request, session, via)

    def home_in(request: Request, session: Session, via: str | None) -> HTMLResponse:
        link = referrals.find_link(session, via) if via and len(via) <= 32 else None
        recommender = session.get(Identity, link.reseller_id) if link else None
        products = listing.list_products(session)
        return page(request, "store.html", products=products, yuan=format_yuan, recommender=recommender)

    clicks = ClickBuffer(maker, settings)
    app.state.clicks = clicks
    targets: dict[str, tuple[int, str] | None] = {}  # code -> (link id, where it lands); links never change

    def landing_target(code: str) -> tuple[int, str] | None:
        if code not in targets:
            with maker() as session:
                link = referrals.find_link(session, code) if len(code) <= 32 else None
                product = session.get(Product, link.product_id) if link and link.product_id else None
                where = f"/p/{product.sku}?via={code}" if product is not None else f"/?via={code}"
                found = (link.id, where) if link is not None else None
            if found is None:
                return None  # unknown codes are not cached: a link made later must work
            if len(targets) > 100_000:
                targets.clear()
            targets[code] = found
        return targets[code]

    # The landing answers before the routes; NUL characters are refused before either, and bodies over their
    # limit before anything reads them (the last added runs first). See docs/security.md.
    app.add_middleware(
        Landing,
        targets=targets,
        find_target=landing_target,
        signer=cached_signer,
        clicks=clicks,
        unavailable=database_unavailable,
        cookies=cookies,
    )
    app.add_middleware(RefuseNul)
    app.add_middleware(LimitBody, json_bytes=settings.max_json_bytes, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: every answer above carries the headers

    @app.get("/p/{sku}", response_class=HTMLResponse)
    def product_page(sku: str, request: Request, via: str | None = None) -> Response:
        """Where a viral link lands. Its own short session, not the DB dependency: under a burst that
        dependency's connections came back only after the response was sent, the pool ran dry and
        the server stalled (bench/viral_landing.py at 256 connections)."""
        with maker.begin() as session:
            return product_page_in(sku, request, session, via)

    def product_page_in(sku: str, request: Request, session: Session, via: str | None) -> Response:
        product = listing.listed_product(session, sku)
        if product is None:
            raise NotFound(f"sku: no product {sku!r} in this store")
        sign = signer(session)
        visitor = visitor_of(request, sign) or secrets.token_urlsafe(16)
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
        live = campaigns.live_for(session, product)
        campaign = campaigns.as_dict(session, live) if live is not None else None
        if live is not None:
            left = live.deadline - utcnow()
            campaign["left"] = (
                f"{left.days} 天 {left.seconds // 3600} 小時 · {left.days} d {left.seconds // 3600} h left"
            )
            campaign["units_left"] = (live.max_qty - live.sold_qty) if live.max_qty else None
        response = page(
            request,
            "product.html",
            campaign=campaign,
            product=product,
            price=format_yuan(product.price_fen),
            recommender=recommender,
            note=note,
            ref=link.code if link else "",
            csrf=sign.sign("csrf", visitor),
            form_key=secrets.token_urlsafe(12),
        )
        response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **cookies)
        return response

    @app.get("/media/{name}")
    def media(name: str) -> FileResponse:
        path = (settings.home / "media" / name).resolve()
        if path.parent != (settings.home / "media").resolve() or not path.is_file():
            raise NotFound(f"image: no image {name!r}")
        return FileResponse(path)

    def checked_visitor(request: Request, session: Session, csrf: str) -> str:
        """The visitor posting an HTML form, refused unless the form's CSRF token was made for them."""
        sign = signer(session)
        visitor = visitor_of(request, sign)
        if visitor is None or sign.unsign("csrf", csrf, YEAR) != visitor:
            raise Forbidden("csrf: the form is stale or was not sent from this store; reload the page")
        return visitor

    def place(
        session: Session, data: OrderIn, visitor: str | None, key_field: str = "idempotency_key"
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
                settings,
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
        return order, signer(session).sign("order", str(order.id))

    def clicks_written() -> None:
        """This process's latest clicks first: a buyer may click and buy at once. A dependency declared
        before the session, so the click writer's connection is taken and given back before the request's."""
        clicks.flush()

    Flushed = Depends(clicks_written)

    @app.post("/api/orders", status_code=201, dependencies=[Flushed])
    def api_order(data: OrderIn, request: Request, session: DB) -> dict[str, Any]:
        """Place an order; attribution from the signed visitor cookie or the explicit ``ref`` code."""
        order, token = place(session, data, visitor_of(request, signer(session)))
        return {"order": orders.as_dict(session, order), "token": token, "url": f"/orders/{order.id}?t={token}"}

    @app.post("/buy", dependencies=[Flushed])
    def buy_form(
        request: Request,
        session: DB,
        sku: Annotated[str, Form(max_length=64)],
        name: Annotated[str, Form(max_length=64)],
        key: Annotated[str, Form(min_length=8, max_length=64)],
        csrf: Annotated[str, Form(max_length=200)] = "",
        qty: Annotated[int, Form(ge=1, le=999)] = 1,
        contact: Annotated[str, Form(max_length=200)] = "",
        ref: Annotated[str, Form(max_length=32)] = "",
    ) -> RedirectResponse:
        visitor = checked_visitor(request, session, csrf)
        data = OrderIn(sku=sku, qty=qty, buyer=Buyer(name=name, contact=contact), ref=ref or None, idempotency_key=key)
        order, token = place(session, data, visitor, "key")
        return RedirectResponse(f"/orders/{order.id}?t={token}", status_code=303)

    def order_by_token(session: Session, order_id: int, token: str | None) -> tuple[Order, str]:
        if signer(session).unsign("order", token, YEAR) != str(order_id):
            raise NotFound(f"order: no order {order_id} for this address")
        return orders.get(session, order_id), token or ""

    @app.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_page(order_id: RowId, request: Request, session: DB, t: str | None = None) -> HTMLResponse:
        order, token = order_by_token(session, order_id, t)
        buyer = session.get_one(Identity, order.buyer_id)
        can_resell = referrals.qualifies(order) and not buyer.is_reseller
        sign = signer(session)
        visitor = visitor_of(request, sign) or secrets.token_urlsafe(16)
        shown = orders.as_dict(session, order)
        response = page(
            request,
            "order.html",
            order=shown,
            pay=payments.store_method().instructions(shown) if order.status == "pending" else None,
            pay_by=f"{order.expires_at.astimezone(settings.tz):%Y-%m-%d %H:%M}" if shown["expires_at"] else None,
            token=token,
            can_resell=can_resell,
            is_reseller=buyer.is_reseller,
            csrf=sign.sign("csrf", visitor),
        )
        response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **cookies)
        return response

    def make_reseller(session: Session, request: Request, order_token: str) -> tuple[Identity, str, str]:
        sign = signer(session)
        order_id = sign.unsign("order", order_token, YEAR)
        if order_id is None:
            raise NotFound("order_token: not a valid order address")
        order = orders.get(session, order_id)
        reseller = referrals.become_reseller(session, order)  # this very order must qualify
        link = referrals.link_for(session, reseller, None)
        token = signin.begin(session, reseller, request, visitor_of(request, sign))
        return reseller, referrals.link_url(settings, link.code), token

    @app.post("/api/resellers", status_code=201)
    def api_reseller(data: ResellerIn, request: Request, session: DB) -> dict[str, Any]:
        """The buyer of the token's delivered order becomes a reseller under whoever they bought through."""
        reseller, link, session_token = make_reseller(session, request, data.order_token)
        sponsor = session.get(Identity, reseller.sponsor_id) if reseller.sponsor_id else None
        return {
            "name": reseller.handle,
            "sponsor": sponsor.handle if sponsor else None,
            "link": link,
            "token": session_token,
        }

    @app.post("/become-reseller")
    def become_form(
        request: Request,
        session: DB,
        order_token: Annotated[str, Form(max_length=200)],
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> RedirectResponse:
        checked_visitor(request, session, csrf)
        _, _, session_token = make_reseller(session, request, order_token)
        return signin.with_cookie(RedirectResponse("/me", status_code=303), session_token, flags=cookies)  # type: ignore[return-value]

    @app.get("/api/me", dependencies=[Flushed])
    def api_me(request: Request, session: DB) -> dict[str, Any]:
        """The signed-in reseller's own links, clicks, orders, commissions, payouts and downline (a signed-in
        buyer's own orders); their identifiers unmasked, as they are their own."""
        found = signin.signed_in(session, request)
        if found is None:
            raise Unauthorized("session: sign in with the link the seller sent you, or a code")
        person = found[1]
        if not person.is_reseller:
            return dashboard.for_buyer(session, person, signer(session))
        return dashboard.for_reseller(session, settings, person)

    @app.get("/me", response_class=HTMLResponse)
    def me_page(request: Request, session: DB) -> HTMLResponse:
        found = signin.signed_in(session, request)
        if found is None:
            return page(request, "signin.html", 401)
        person = found[1]
        sign = signer(session)
        visitor = visitor_of(request, sign) or secrets.token_urlsafe(16)
        shown = signin.sessions_shown(session, request)
        if not person.is_reseller:
            mine = dashboard.for_buyer(session, person, sign)
            response = page(request, "me_buyer.html", me=mine, sessions=shown, csrf=sign.sign("csrf", visitor))
            response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **cookies)
            return response
        response = page(
            request,
            "me.html",
            me=dashboard.for_reseller(session, settings, person),
            kits=sharing.kits(session, settings, person),
            outlets=sharing.outlet_count(session, person),
            sessions=shown,
            csrf=sign.sign("csrf", visitor),
        )
        response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **cookies)
        return response

    @app.get("/api/me/kits")
    def api_kits(request: Request, session: DB) -> list[dict[str, Any]]:
        """The signed-in reseller's share kit per product: their link, a caption to paste, a QR code."""
        person = me_of(request, session)
        if person is None:
            raise Unauthorized("session: sign in with the link the seller sent you")
        return sharing.kits(session, settings, person)

    @app.get("/qr/{code}.png")
    def qr(code: str, session: DB) -> Response:
        link = referrals.find_link(session, code) if len(code) <= 32 else None
        if link is None:
            raise NotFound(f"code: no referral link {code!r}")
        png = sharing.qr_png(referrals.link_url(settings, link.code))
        return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    def distribute_for(request: Request, data: DistributeIn, csrf: str | None = None) -> tuple[list[int], int]:
        """Plan the posts in a transaction of their own, then send them off: workers must see them committed."""
        with maker.begin() as session:
            if csrf is not None:
                checked_visitor(request, session, csrf)
            person = me_of(request, session)
            if person is None:
                raise Unauthorized("session: sign in with the link the seller sent you")
            if listing.listed_product(session, data.sku) is None:
                raise NotFound(f"sku: no product {data.sku!r} in this store")
            if sharing.outlet_count(session, person) == 0:
                raise UserError("outlets: you have no outlet accounts yet; ask the seller to connect yours")
            posts = distribution.plan(session, settings, data.sku, person.handle, data.note)
            queued = [post.id for post in posts if post.status == "queued"]
        tasks.dispatch(settings, queued)
        return [post.id for post in posts], len(queued)

    @app.post("/api/me/distribute", status_code=202)
    def api_distribute(data: DistributeIn, request: Request) -> dict[str, Any]:
        """One click: post the product to every outlet account of the signed-in reseller."""
        ids, queued = distribute_for(request, data)
        return {"queued": queued, "posts": ids, "follow": f"/api/me/posts?ids={','.join(map(str, ids))}"}

    @app.post("/me/distribute")
    def distribute_form(
        request: Request,
        sku: Annotated[str, Form(max_length=64)],
        note: Annotated[str, Form(max_length=2000)] = "",
        csrf: Annotated[str, Form(max_length=200)] = "",
    ) -> RedirectResponse:
        ids, _ = distribute_for(request, DistributeIn(sku=sku, note=note), csrf)
        return RedirectResponse(f"/me/posts?ids={','.join(map(str, ids))}", status_code=303)

    @app.get("/me/distribute/{sku}", response_class=HTMLResponse)
    def distribute_preview(sku: str, request: Request, session: DB, note: str = "") -> HTMLResponse:
        """What one click would post on each of the reseller's outlets, before it is pressed."""
        person = me_of(request, session)
        if person is None:
            return page(request, "signin.html", 401)
        product = listing.listed_product(session, sku)
        if product is None:
            raise NotFound(f"sku: no product {sku!r} in this store")
        sign = signer(session)
        visitor = visitor_of(request, sign) or secrets.token_urlsafe(16)
        response = page(
            request, "distribute_preview.html", layout="me_layout.html", product=product, note=note[:2000],
            outlets=distribution.preview(session, settings, product.sku, person.handle, note[:2000]),
            action="/me/distribute", back="/me", sku_field=True, csrf=sign.sign("csrf", visitor),
        )  # fmt: skip
        response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **cookies)
        return response

    @app.get("/me/posts", response_class=HTMLResponse)
    def distribute_status(request: Request, session: DB, ids: str = "") -> HTMLResponse:
        if me_of(request, session) is None:
            return page(request, "signin.html", 401)
        feed = f"/api/me/posts?ids={ids}" if post_ids(ids) else "/api/me/posts"
        return page(request, "distribute_status.html", layout="me_layout.html", feed=feed, back="/me")

    def post_ids(ids: str) -> list[int]:
        return id_list(ids, "ids", required=False)

    @app.get("/api/me/posts")
    def api_posts(request: Request, session: DB, ids: str = "") -> list[dict[str, Any]]:
        """The signed-in reseller's posts: the latest 50, or the ones named in ``ids`` (their own only)."""
        person = me_of(request, session)
        if person is None:
            raise Unauthorized("session: sign in with the link the seller sent you")
        query = select(Post).where(Post.poster_id == person.id)
        wanted = post_ids(ids)
        query = (
            query.where(Post.id.in_(wanted)).order_by(Post.id) if wanted else query.order_by(Post.id.desc()).limit(50)
        )
        return [distribution.as_dict(session, post) for post in session.scalars(query)]

    signin.add_signin(app, settings, signer, DB, visitor_of, checked_visitor)
    add_console(app, maker, settings, signer, page)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, 403)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, 401)

    return app


def jsonable(errors: Any) -> Any:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]
