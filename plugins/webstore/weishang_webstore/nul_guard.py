"""Refuse NUL characters before any route sees them: never meaningful here, and PostgreSQL cannot store them.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: that one runs each request in a
task of its own and, under a burst, held every request's database session until its response had been
streamed out, until the connection pool ran dry and the server stalled (seen at 256 connections).
Requests without a body pass straight through; a body is read once, checked, and replayed to the app.
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]
REFUSAL = json.dumps({"error": "request: NUL characters are not allowed"}).encode()


def text_parts(body: bytes) -> bytes:
    """The multipart body without its file parts (those whose headers name a filename)."""
    boundary = body.split(b"\r\n", 1)[0]
    if not boundary.startswith(b"--"):
        return body
    return b"".join(p for p in body.split(boundary) if b"filename=" not in p.split(b"\r\n\r\n", 1)[0])


def has_nul(data: bytes) -> bool:
    return b"\x00" in data or b"\\u0000" in data.lower()


class RefuseNul:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        if "%00" in target or "\x00" in target:
            await self.refuse(send)
            return
        headers = dict(scope.get("headers", []))
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and b"content-length" not in headers:
            await self.app(scope, receive, send)
            return
        messages, chunks = [], []  # joined once: ``body +=`` per chunk copied the body again at every chunk
        while True:
            message = await receive()  # bounded: body_limit.LimitBody, in front, refuses a body past its limit
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            body = text_parts(body)  # an uploaded photo may hold any byte; the text fields may not
        if has_nul(body):
            await self.refuse(send)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def refuse(send: Any) -> None:
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(REFUSAL)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": head})
        await send({"type": "http.response.body", "body": REFUSAL})
