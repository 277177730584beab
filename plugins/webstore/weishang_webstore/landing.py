"""The landing of a referral link, ``/r/{code}``: where a viral post sends thousands of phones at once.

A plain ASGI middleware in front of the store's routes rather than a FastAPI route. The landing answers
from memory — link targets cached, the signing key read once — and hands the click to the buffer that
writes clicks in batches; FastAPI's routing, dependency and exception machinery cost more than all of
that together (bench/README.md, viral_landing). Anything else, and any path that is not a landing, goes
on to the store unchanged.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import cookie_parser

from weishang_core import referrals
from weishang_core.models import Product, utcnow
from weishang_webstore.clicks import ClickBuffer, PendingClick
from weishang_webstore.signing import Signer

VISITOR = "ws_visitor"  # the visitor's signed id: attribution follows it to checkout
YEAR = 365 * 86400

Target = tuple[int, str] | None  # (link id, where it lands), None for an unknown code


def target_finder(maker: sessionmaker[Session], targets: dict[str, Target]) -> Callable[[str], Target]:
    """Where a code lands, looked up once: links never change. Unknown codes are not cached (a link made
    later must work); past 100,000 codes the cache starts again."""

    def find(code: str) -> Target:
        if code not in targets:
            with maker() as session:
                link = referrals.find_link(session, code) if len(code) <= 32 else None
                product = session.get(Product, link.product_id) if link and link.product_id else None
                where = f"/p/{product.sku}?via={code}" if product is not None else f"/?via={code}"
                found = (link.id, where) if link is not None else None
            if found is None:
                return None
            if len(targets) > 100_000:
                targets.clear()
            targets[code] = found
        return targets[code]

    return find


class Landing:
    def __init__(
        self,
        app: Any,
        *,
        targets: dict[str, Target],
        find_target: Callable[[str], Target],
        signer: Callable[[], Signer],
        clicks: ClickBuffer,
        unavailable: Callable[[Exception], Response | None],
        cookies: dict[str, Any],
    ) -> None:
        self.app, self.targets, self.find_target, self.signer = app, targets, find_target, signer
        self.clicks, self.unavailable, self.sign, self.cookies = clicks, unavailable, None, cookies
        self.looking: dict[str, asyncio.Future[Any]] = {}  # first sights being looked up, by code

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        code = path[3:] if path.startswith("/r/") else ""
        if not code or "/" in code or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        try:
            response = await self.land(scope, code)
        except Exception as exc:  # the database is away: the store's own answer for that, never a 500
            answer = self.unavailable(exc)
            if answer is None:
                raise
            response = answer
        await response(scope, receive, send)

    async def land(self, scope: dict[str, Any], code: str) -> Response:
        """Send the visitor to the product (or the store) at once; the click is written in the next batch.
        Only the first sight of a code (or of the key) asks the database, in a worker thread."""
        sign = self.sign or await self.once("", self.signer)
        self.sign = sign
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
        cookies = cookie_parser(headers.get("cookie", ""))
        visitor = sign.unsign("visitor", cookies.get(VISITOR), YEAR) or secrets.token_urlsafe(16)
        found = self.targets[code] if code in self.targets else await self.once(code, lambda: self.find_target(code))
        target = "/"
        if found is not None:
            link_id, target = found
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            utm_source = query["utm_source"][-1] if query.get("utm_source") else None
            outlet = utm_source or (urlsplit(headers.get("referer", "")).hostname or None)
            ip = scope["client"][0] if scope.get("client") else None
            self.clicks.add(PendingClick(link_id, visitor, outlet, ip, headers.get("user-agent"), utcnow()))
        response = RedirectResponse(target, status_code=302)
        response.set_cookie(VISITOR, sign.sign("visitor", visitor), max_age=YEAR, **self.cookies)
        return response

    async def once(self, key: str, look_up: Callable[[], Any]) -> Any:
        """One lookup in a worker thread for however many requests need it at once. A new link posted to a
        large group is first seen by hundreds of phones together; each asking the database on its own
        queued them all behind the connection pool (bench/README.md, viral_landing)."""
        pending = self.looking.get(key)
        if pending is None:
            pending = self.looking[key] = asyncio.ensure_future(run_in_threadpool(look_up))
            pending.add_done_callback(lambda _: self.looking.pop(key, None))
        return await asyncio.shield(pending)  # a visitor who leaves does not cancel the others' lookup
