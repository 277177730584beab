"""One web store's state: its settings, database, cookie flags, signing key and click buffer.

``create_app`` builds one and keeps it on ``app.state.store``; ``deps`` hands it to the endpoints, so the
routers are plain module-level ``APIRouter``s and two apps in one process (the tests make many) never
share a key, a buffer or a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from weishang_core.config import Settings
from weishang_webstore.clicks import ClickBuffer
from weishang_webstore.headers import cookie_flags
from weishang_webstore.signing import Signer, store_secret

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


class Store:
    def __init__(self, settings: Settings, maker: sessionmaker[Session]) -> None:
        self.settings, self.maker = settings, maker
        self.cookies = cookie_flags(settings.store_url)
        self.clicks = ClickBuffer(maker, settings)
        self.secret: bytes | None = None  # the signing key, read once per process

    def signer(self) -> Signer:
        """The signer, its key read in a transaction of its own the first time: a request never holds one
        pooled connection while asking for another (64 first buyers at once used to hold 15 and wait for
        15 more until the pool timed out)."""
        if self.secret is None:
            with self.maker.begin() as session:
                self.secret = store_secret(session)
        return Signer(self.secret)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(
            request, name, {"store": self.settings.store_url, **context}, status_code=status
        )


def store_of(request: Request) -> Store:
    return request.app.state.store
