"""The seller's console at ``/console``: the whole job from a phone's browser.

Products (with photo upload), outlets (Weibo's OAuth2 in the browser), one-click distribution with a
preview and live status, orders with refunds that show their commission effect first, money, campaigns,
and the insight dashboard. Every page is server-rendered for a phone; every change is one transaction
through the same core services the CLI uses, so the console can do nothing the CLI refuses.
"""

import io
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from weishang_core import (
    accounts,
    campaigns,
    catalog,
    charts,
    distribution,
    identities,
    insight,
    ledger,
    orders,
    payouts,
    sessions,
    tasks,
)
from weishang_core.clock import local_day, parse_when
from weishang_core.config import Settings
from weishang_core.errors import ChannelError, UserError
from weishang_core.models import Campaign, Identity, LedgerEntry, OutletAccount, Post, Product, utcnow
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.plugins import get_channel, get_channels
from weishang_core.validation import parse_whole
from weishang_webstore import console_auth, form_once
from weishang_webstore.console_auth import COOKIE, SESSION_AGE, BadLink, SignInRequired
from weishang_webstore.headers import cookie_flags
from weishang_webstore.params import RowId, id_list
from weishang_webstore.signing import Signer
from weishang_webstore.transactions import CommitInThread, request_session

ORDER_ACTIONS = ("pay", "ship", "deliver", "complete", "cancel")
OAUTH_AGE = 15 * 60


class Who:
    """The signed-in seller or staff member, and the CSRF token their forms carry."""

    def __init__(self, person: Identity, csrf: str) -> None:
        self.person, self.csrf = person, csrf


def callback_url(settings: Settings) -> str:
    return f"{settings.store_url}/console/oauth/callback"


def add_console(
    app: FastAPI,
    maker: sessionmaker[Session],
    settings: Settings,
    signer: Callable[[Session], Signer],
    page: Callable[..., HTMLResponse],
) -> None:
    router = APIRouter(prefix="/console", include_in_schema=False, route_class=CommitInThread)  # pages, not an API
    cookies = cookie_flags(settings.store_url)

    def db() -> Iterator[Session]:
        yield from request_session(maker)

    DB = Annotated[Session, Depends(db, scope="function")]  # committed before the answer, never after

    async def form_of(request: Request) -> FormData:
        """The posted form, read on the event loop (Starlette keeps it for the endpoint's own fields)."""
        return await request.form() if request.method != "GET" else FormData()

    Posted = Annotated[FormData, Depends(form_of)]

    def who(request: Request, session: DB, form: Posted) -> Who:
        """GETs need a session; every other method also needs the form's CSRF token."""
        sign = signer(session)
        cookie = request.cookies.get(COOKIE)
        person, csrf = console_auth.current(session, sign, cookie)
        if request.method != "GET":
            sent = form.get("csrf") or request.headers.get("x-csrf-token")
            if not console_auth.check_csrf(session, sign, cookie, sent if isinstance(sent, str) else None):
                raise CsrfRefused("csrf: the form is stale or was not sent from this console; reload the page")
        return Who(person, csrf)

    Me = Annotated[Who, Depends(who)]

    def view(request: Request, name: str, me: Who, status: int = 200, **context: Any) -> HTMLResponse:
        return page(request, name, status, me=me.person, csrf=me.csrf, msg=request.query_params.get("msg"),
                    once=form_once.new, **context)  # fmt: skip

    def where(path: str, msg: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{path}{sep}msg={quote(msg)}"

    def back(path: str, msg: str) -> RedirectResponse:
        return RedirectResponse(where(path, msg), status_code=303)

    # -- signing in ---------------------------------------------------------------------------------
    @router.get("/login", response_class=HTMLResponse)
    def login(request: Request) -> HTMLResponse:
        return page(request, "console/login.html", 401, error=request.query_params.get("error"))

    @router.get("/signin")
    def signin(t: str, request: Request, session: DB) -> RedirectResponse:
        try:
            _, cookie = console_auth.redeem(session, signer(session), t, request.headers.get("user-agent"))
        except BadLink as exc:
            return RedirectResponse(f"/console/login?error={quote(str(exc))}", status_code=303)
        response = RedirectResponse("/console", status_code=303)
        response.set_cookie(COOKIE, cookie, max_age=SESSION_AGE, path="/console", **cookies)
        return response

    @router.post("/signout")
    def signout(request: Request, session: DB, me: Me) -> RedirectResponse:
        sessions.end_token(session, request.cookies.get(COOKIE), "signed out")  # the cookie is dead everywhere
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console", **cookies)
        return response

    # -- insight ------------------------------------------------------------------------------------
    @router.get("", response_class=HTMLResponse)
    def home(request: Request, session: DB, me: Me, days: int = 30) -> HTMLResponse:
        try:
            figures = insight.report(session, days)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        return view(
            request,
            "console/home.html",
            me,
            report=figures,
            outlets_svg=charts.funnel_svg(
                f"渠道 · Outlets, last {days} days", [*figures.outlets, figures.total], "outlets"
            ),
            resellers_svg=charts.funnel_svg(f"分銷商 · Resellers, last {days} days", figures.resellers, "resellers"),
            tree_svg=charts.tree_svg(figures.tree),
            yuan=format_yuan,
        )

    @router.get("/api/report")
    def api_report(session: DB, me: Me, days: int = 30) -> dict[str, Any]:
        try:
            return insight.report(session, days).as_dict()
        except ValueError as exc:
            raise UserError(str(exc)) from None

    # -- products -----------------------------------------------------------------------------------
    @router.get("/products", response_class=HTMLResponse)
    def products(request: Request, session: DB, me: Me) -> HTMLResponse:
        return view(request, "console/products.html", me, products=catalog.list_all(session), yuan=format_yuan)

    def product_form(
        request: Request, me: Who, product: Product | None, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        return view(
            request,
            "console/product_form.html",
            me,
            status,
            product=product,
            price=format_yuan(product.price_fen) if product else "",
            levels=settings.max_commission_levels,
            profile=settings.compliance,
            **extra,
        )

    @router.get("/products/new", response_class=HTMLResponse)
    def new_product(request: Request, me: Me) -> HTMLResponse:
        return product_form(request, me, None)

    def photo_names(photo: UploadFile | None) -> list[str] | None:
        if photo is None or not photo.filename:
            return None
        data = photo.file.read(settings.max_upload_bytes + 1)
        return [catalog.store_photo(settings, data, photo.filename)]

    @router.post("/products/new")
    def create_product(
        request: Request,
        me: Me,
        form: Posted,
        sku: Annotated[str, Form(max_length=64)],
        title: Annotated[str, Form(max_length=200)],
        price: Annotated[str, Form(max_length=20)],
        stock: Annotated[str, Form(max_length=12)] = "0",
        description: Annotated[str, Form(max_length=20_000)] = "",
        commission: Annotated[str, Form(max_length=200)] = "",
        photo: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        try:
            images = photo_names(photo)
            with maker.begin() as session:
                product = catalog.add(
                    session,
                    settings,
                    sku,
                    catalog.ProductInput(title, price, stock, description, None, commission or None),
                )
                product.images = images or []
                made = product.sku
        except UserError as exc:
            return product_form(request, me, None, 400, error=str(exc), given=form)
        return back(f"/console/products/{made}", f"{made} added")

    @router.get("/products/{sku}", response_class=HTMLResponse)
    def edit_product(sku: str, request: Request, session: DB, me: Me) -> HTMLResponse:
        return product_form(request, me, catalog.get(session, sku))

    @router.post("/products/{sku}")
    def save_product(
        sku: str,
        request: Request,
        me: Me,
        title: Annotated[str, Form(max_length=200)],
        price: Annotated[str, Form(max_length=20)],
        stock: Annotated[str, Form(max_length=12)],
        description: Annotated[str, Form(max_length=20_000)] = "",
        commission: Annotated[str, Form(max_length=200)] = "",
        photo: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        try:
            images = photo_names(photo)
            with maker.begin() as session:
                product = catalog.update(
                    session, settings, sku, catalog.ProductInput(title, price, stock, description, None, commission)
                )
                if images:
                    product.images = [*images, *product.images][:9]
        except UserError as exc:
            with maker() as session:
                current = catalog.get(session, sku)
            return product_form(request, me, current, 400, error=str(exc))
        return back(f"/console/products/{sku}", "saved")

    # -- one click ------------------------------------------------------------------------------------
    @router.get("/products/{sku}/distribute", response_class=HTMLResponse)
    def preview(sku: str, request: Request, session: DB, me: Me, note: str = "") -> HTMLResponse:
        product = catalog.get(session, sku)
        outlets = distribution.preview(session, settings, product.sku, None, note[:2000])
        return view(
            request, "distribute_preview.html", me, product=product, outlets=outlets, note=note,
            action=f"/console/products/{product.sku}/distribute", back="/console/products", layout="console/base.html",
        )  # fmt: skip

    @router.post("/products/{sku}/distribute")
    def distribute(sku: str, me: Me, note: Annotated[str, Form(max_length=2000)] = "") -> RedirectResponse:
        with maker.begin() as session:
            posts = distribution.plan(session, settings, sku, None, note)
            ids = [post.id for post in posts]
            queued = [post.id for post in posts if post.status == "queued"]
        tasks.dispatch(settings, queued)
        return RedirectResponse(f"/console/posts?ids={','.join(map(str, ids))}", status_code=303)

    def wanted_ids(ids: str) -> list[int]:
        return id_list(ids, "ids", required=True)

    @router.get("/posts", response_class=HTMLResponse)
    def status_page(request: Request, me: Me, ids: str) -> HTMLResponse:
        wanted_ids(ids)
        return view(
            request, "distribute_status.html", me, feed=f"/console/api/posts?ids={ids}", back="/console/products",
            layout="console/base.html",
        )  # fmt: skip

    @router.get("/api/posts")
    def posts_feed(session: DB, me: Me, ids: str) -> list[dict[str, Any]]:
        found = session.scalars(select(Post).where(Post.id.in_(wanted_ids(ids))).order_by(Post.id))
        return [distribution.as_dict(session, post) for post in found]

    # -- outlets ----------------------------------------------------------------------------------------
    @router.get("/outlets", response_class=HTMLResponse)
    def outlets(request: Request, session: DB, me: Me) -> HTMLResponse:
        today = distribution.posts_today(session, local_day(utcnow(), settings.tz))
        installed = get_channels()
        shown = [
            {**accounts.as_dict(a), "today": today.get(a.id, 0), "oauth": a.channel in installed
             and installed[a.channel].uses_oauth}
            for a in accounts.list_all(session)
        ]  # fmt: skip
        channels = sorted(installed.values(), key=lambda c: c.name)
        return view(request, "console/outlets.html", me, outlets=shown, channels=channels)

    @router.get("/outlets/new", response_class=HTMLResponse)
    def new_outlet(request: Request, me: Me, channel: str) -> HTMLResponse:
        return view(
            request, "console/outlet_form.html", me, channel=get_channel(channel), callback=callback_url(settings)
        )

    @router.post("/outlets/new")
    def create_outlet(me: Me, form: Posted) -> Response:
        channel = get_channel(str(form.get("channel", "")))
        options = {o.name: str(form.get(f"opt_{o.name}", "")).strip() for o in channel.options}
        cap = parse_whole(str(form.get("daily_cap", "4")), "daily_cap", 1, 1000, "a whole number of posts a day")
        with maker.begin() as session:
            owner = str(form.get("owner", "")).strip() or None
            account = accounts.add(session, channel.name, str(form.get("name", "")).strip(), owner,
                                   {k: v for k, v in options.items() if v}, cap)  # fmt: skip
            name = account.name
        if channel.uses_oauth:
            return RedirectResponse(f"/console/outlets/{quote(name)}/authorize", status_code=303)
        return back("/console/outlets", f"{name} connected")

    @router.get("/outlets/{name}/authorize")
    def authorize(name: str, session: DB, me: Me) -> RedirectResponse:
        account = accounts.get(session, name)
        channel = get_channel(account.channel)
        if not channel.uses_oauth:
            raise UserError(f"{name}: {channel.name} accounts are not connected through OAuth")
        state = signer(session).sign("oauth", f"{account.id}:{secrets.token_urlsafe(8)}")
        return RedirectResponse(channel.authorize_url(accounts.view(account), state), status_code=303)

    @router.get("/oauth/callback")
    def oauth_callback(
        me: Me, state: str = "", code: str = "", error: str = "", error_description: str = ""
    ) -> RedirectResponse:
        """Where the outlet sends the browser back: the state names the account and was signed here."""
        with maker() as session:
            payload = signer(session).unsign("oauth", state, OAUTH_AGE)
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
        with maker.begin() as session:
            accounts.save_state(session, name, record.state)
        return back("/console/outlets", f"{name}: {message}")

    @router.post("/outlets/{name}/check")
    def check_outlet(name: str, me: Me) -> RedirectResponse:
        with maker() as session:
            account = accounts.get(session, name)
            channel, record = get_channel(account.channel), accounts.view(account)
        try:
            message = f"{name}: ok, {channel.check(record)}"
        except ChannelError as exc:
            message = f"{name}: not working: {exc}"
        with maker.begin() as session:
            accounts.save_state(session, name, record.state)
        return back("/console/outlets", message)

    # -- orders -------------------------------------------------------------------------------------
    @router.get("/orders", response_class=HTMLResponse)
    def order_list(request: Request, session: DB, me: Me, status: str = "", buyer: str = "") -> HTMLResponse:
        found = orders.list_orders(session, status or None, buyer or None)
        shown = [orders.as_dict(session, o) for o in reversed(found)][:200]
        statuses = ("pending", "paid", "shipped", "delivered", "completed", "refunded", "cancelled")
        return view(request, "console/orders.html", me, orders=shown, wanted=status, buyer=buyer, statuses=statuses)

    def order_commissions(session: Session, order_id: int) -> list[dict[str, Any]]:
        rows = session.execute(
            select(LedgerEntry, Identity.handle)
            .join(Identity, Identity.id == LedgerEntry.beneficiary_id)
            .where(LedgerEntry.order_id == order_id)
            .order_by(LedgerEntry.id)
        )
        return [ledger.entry_dict(entry, handle) for entry, handle in rows]

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    def order_page(order_id: RowId, request: Request, session: DB, me: Me) -> HTMLResponse:
        order = orders.get(session, order_id)
        return view(request, "console/order.html", me, order=orders.as_dict(session, order),
                    commissions=order_commissions(session, order.id), actions=ORDER_ACTIONS)  # fmt: skip

    @router.post("/orders/{order_id}/status")
    def order_status(
        order_id: RowId, me: Me, form: Posted, action: Annotated[str, Form(max_length=16)]
    ) -> RedirectResponse:
        if action not in ORDER_ACTIONS:
            raise UserError(f"action: {action!r} is not one of {', '.join(ORDER_ACTIONS)}")

        def act(session: Session) -> str:
            order = orders.get(session, order_id)
            if action in ("pay", "deliver"):
                getattr(orders, action)(session, settings, order)
            else:
                getattr(orders, action)(session, order)
            return where(f"/console/orders/{order_id}", f"order {order_id} is {order.status}")

        return form_once.run(maker, form, act)

    @router.post("/orders/{order_id}/refund", response_model=None)
    def refund(
        order_id: RowId,
        request: Request,
        me: Me,
        form: Posted,
        amount: Annotated[str, Form(max_length=20)] = "",
        reason: Annotated[str, Form(max_length=500)] = "",
        confirm: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        """Without ``confirm``: a page showing the refund's effect on each commission. With it: the refund."""
        amount_fen = parse_yuan(amount, "amount", allow_zero=False) if amount.strip() else None
        if confirm != "yes":
            with maker.begin() as session:
                effect = orders.refund_effect(session, orders.get(session, order_id), amount_fen=amount_fen)
                return view(request, "console/refund_confirm.html", me, effect=effect, amount=amount, reason=reason)

        def act(session: Session) -> str:
            event = orders.refund(session, orders.get(session, order_id), amount_fen=amount_fen, reason=reason or None)
            done = format_yuan(event.amount_fen)
            return where(f"/console/orders/{order_id}", f"refunded ¥{done}; commissions reversed in proportion")

        return form_once.run(maker, form, act)

    @router.post("/orders/{order_id}/exchange", response_model=None)
    def exchange(
        order_id: RowId,
        request: Request,
        me: Me,
        form: Posted,
        qty: Annotated[str, Form(max_length=6)],
        reason: Annotated[str, Form(max_length=500)] = "",
        confirm: Annotated[str, Form(max_length=8)] = "",
    ) -> Response:
        """Replacement units leave stock; no money moves, so every commission stays as it is (shown first)."""
        if confirm != "yes":
            with maker.begin() as session:
                order = orders.get(session, order_id)
                with session.begin_nested() as savepoint:  # refused exactly as the exchange itself would be
                    orders.exchange(session, order, qty, reason=reason or None)
                    savepoint.rollback()
                shown = orders.as_dict(session, order)
                stock = session.scalar(select(Product.stock).where(Product.sku == shown["sku"]))
                return view(request, "console/exchange_confirm.html", me, order=shown, qty=qty.strip(), reason=reason,
                            stock=stock, commissions=order_commissions(session, order_id))  # fmt: skip

        def act(session: Session) -> str:
            orders.exchange(session, orders.get(session, order_id), qty, reason=reason or None)
            return where(f"/console/orders/{order_id}", f"{qty} unit(s) exchanged; no money moved")

        return form_once.run(maker, form, act)

    # -- money --------------------------------------------------------------------------------------
    @router.get("/money", response_class=HTMLResponse)
    def money(request: Request, session: DB, me: Me) -> HTMLResponse:
        people = [(p, ledger.balances(session, p.id).as_dict()) for p in identities.list_resellers(session)]
        held = [ledger.entry_dict(e, h) for e, h in ledger.entries(session) if e.status == "pending"]
        paid = [payouts.as_dict(p, i) for p, i in payouts.list_all(session)]
        return view(request, "console/money.html", me, people=people, held=held, payouts=paid)

    @router.post("/money/payouts")
    def run_payouts(me: Me, form: Posted, minimum: Annotated[str, Form(max_length=20)] = "0.01") -> RedirectResponse:
        min_fen = parse_yuan(minimum, "minimum", allow_zero=False)

        def act(session: Session) -> str:
            made = payouts.run(session, min_fen)
            total = format_yuan(sum(p.amount_fen for p in made))
            return where("/console/money", f"{len(made)} payout(s), ¥{total} in all")

        return form_once.run(maker, form, act)

    @router.get("/money/payouts.csv")
    def payouts_csv(session: DB, me: Me) -> Response:
        buffer = io.StringIO()
        payouts.write_csv(session, buffer)
        return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="payouts.csv"'})  # fmt: skip

    # -- campaigns ------------------------------------------------------------------------------------
    @router.get("/campaigns", response_class=HTMLResponse)
    def campaign_list(request: Request, session: DB, me: Me) -> HTMLResponse:
        shown = [campaigns.as_dict(session, c) for c in session.scalars(select(Campaign).order_by(Campaign.id.desc()))]
        return view(request, "console/campaigns.html", me, campaigns=shown, products=catalog.list_all(session))

    @router.post("/campaigns")
    def create_campaign(
        me: Me,
        sku: Annotated[str, Form(max_length=64)],
        target: Annotated[str, Form(max_length=20)],
        days: Annotated[int, Form(ge=1, le=365)] = 7,
        max_qty: Annotated[str, Form(max_length=9)] = "",
        deadline: Annotated[str, Form(max_length=40)] = "",
    ) -> RedirectResponse:
        when = parse_when(deadline, settings.tz, "deadline") if deadline.strip() else utcnow() + timedelta(days=days)
        units = parse_whole(max_qty, "max_qty", 1, 1_000_000, "a whole number of units") if max_qty.strip() else None
        with maker.begin() as session:
            made = campaigns.create(session, sku, target, when, max_qty=units)
            number = made.id
        return back("/console/campaigns", f"campaign {number} is open")

    @router.post("/campaigns/{campaign_id}/close")
    def close_campaign(campaign_id: RowId, me: Me) -> RedirectResponse:
        with maker.begin() as session:
            closed = campaigns.close(session, settings, campaigns.get(session, campaign_id))
            status = closed.status
        return back("/console/campaigns", f"campaign {campaign_id} is {status}")

    app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, exc: SignInRequired) -> RedirectResponse:
        return RedirectResponse("/console/login", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, 403)


class CsrfRefused(Exception):
    """A console form posted without the token of the signed-in session: 403."""
