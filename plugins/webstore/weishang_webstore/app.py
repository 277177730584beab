"""The web store: referral landing, product pages, checkout, becoming a reseller, the reseller's own page.

Pages are server-rendered Jinja2 for phones (buyers arrive from WeChat); the JSON API beside them has
its OpenAPI document at ``/openapi.json``. Every request is one transaction through the core's
services; a ``UserError`` becomes its status with ``{"error": "…"}`` (``handlers``). Cookies are signed
and HttpOnly: a tampered one is ignored, never trusted. HTML form posts carry a CSRF token bound to the
visitor cookie. ``create_app`` only wires: the routers (``routes/``, ``console/`` and the plugins'
``web_routers``), the handlers and the middlewares; what endpoints need is in ``deps``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, FastAPI

from weishang_core import __version__
from weishang_core.config import Settings, load_settings
from weishang_core.db import get_sessionmaker, pool_size
from weishang_core.plugins import load_plugins, pm
from weishang_webstore import console
from weishang_webstore.body_limit import LimitBody
from weishang_webstore.handlers import add_handlers, database_unavailable
from weishang_webstore.headers import SecurityHeaders
from weishang_webstore.landing import Landing, Target, target_finder
from weishang_webstore.nul_guard import RefuseNul
from weishang_webstore.routes import checkout, distribute, me, media, shop, signin
from weishang_webstore.store import Store
from weishang_webstore.transactions import CommitInThread

STORE_ROUTERS = (shop.router, media.router, checkout.router, me.router, distribute.router, signin.router)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # As many request threads as the pool has connections for (less one for the click writer), so a
    # request never waits on the pool behind another request's thread (see db.pool_size).
    to_thread.current_default_thread_limiter().total_tokens = max(1, pool_size() - 1)
    yield
    app.state.clicks.close()  # write what is buffered before the server stops


def plugin_routers() -> list[APIRouter]:
    """The routers plugins add (``web_routers``), in registration order."""
    load_plugins()
    return [router for routers in pm.hook.web_routers() for router in routers or ()]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    store = Store(settings, get_sessionmaker(settings.database_url))
    app = FastAPI(title="weishang web store", version=__version__, lifespan=lifespan)
    app.router.route_class = CommitInThread
    app.state.store, app.state.clicks = store, store.clicks
    add_handlers(app)
    for router in (*STORE_ROUTERS, *console.ROUTERS, *plugin_routers()):
        app.include_router(router)
    add_middlewares(app, store)
    return app


def add_middlewares(app: FastAPI, store: Store) -> None:
    """The landing answers before the routes; NUL characters are refused before either, and bodies over
    their limit before anything reads them (the last added runs first). See docs/security.md."""
    targets: dict[str, Target] = {}  # code -> (link id, where it lands)
    app.add_middleware(
        Landing,
        targets=targets,
        find_target=target_finder(store.maker, targets),
        signer=store.signer,
        clicks=store.clicks,
        unavailable=database_unavailable,
        cookies=store.cookies,
    )
    app.add_middleware(RefuseNul)
    settings = store.settings
    app.add_middleware(LimitBody, json_bytes=settings.max_json_bytes, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders)  # outermost: every answer above carries the headers
