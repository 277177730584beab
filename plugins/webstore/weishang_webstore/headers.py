"""Security headers on every answer, and the flags every cookie of the store carries.

Order pages and sign-in links carry their token in the address, so no page may pass its address on to
another site (``Referrer-Policy: same-origin``); no answer may be sniffed into another type than it says
(``nosniff``); the console may not be framed by another site, which could trick a seller into pressing
its buttons (``X-Frame-Options`` and CSP ``frame-ancestors``). One plain ASGI middleware, outermost, so
the landing's redirects and the refusals of the middlewares behind it carry the headers too; the header
lists are built once, and each answer only has them appended.
"""

from __future__ import annotations

from typing import Any

EVERY = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"))
CONSOLE = (*EVERY, (b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'"))


def cookie_flags(store_url: str) -> dict[str, Any]:
    """Every cookie: not readable by scripts, not sent by other sites' posts, and only over HTTPS when the
    store is served over HTTPS (``WEISHANG_STORE_URL``), so a visit over plain HTTP cannot leak it."""
    return {"httponly": True, "samesite": "lax", "secure": store_url.startswith("https://")}


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = CONSOLE if scope["path"].startswith("/console") else EVERY

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
