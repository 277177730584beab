"""Refuse request bodies over their limit before anything buffers them: 413 with the limit named.

A body is a JSON document or a form (``Settings.max_json_bytes``, 64 KB by default) unless it is a
multipart upload to the console (``max_upload_bytes``, 10 MB: a phone's photo). A declared
``Content-Length`` over the limit is answered at once, unread; a body sent without one (chunked) is
counted as it arrives and refused at the first chunk past the limit. Before this, a 100 MB body was read
whole into memory (seconds of CPU and half a gigabyte) by whichever layer read it first.
A plain ASGI middleware, like ``nul_guard``: it must run before that one, which reads bodies whole.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]


class BodyTooLarge(HTTPException):
    """A body past its limit. An HTTPException, so a route reading the body answers 413 the same way."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request: the body is larger than the limit of {describe(limit)}")


def describe(size: int) -> str:
    """``65536`` as "64 KB (65536 bytes)": the unit a person thinks in, and the exact number for a client."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit} ({size} bytes)"
    return f"{size} bytes"


class LimitBody:
    def __init__(self, app: Any, *, json_bytes: int, upload_bytes: int) -> None:
        self.app, self.json_bytes, self.upload_bytes = app, json_bytes, upload_bytes

    def limit_for(self, scope: Scope, headers: dict[bytes, bytes]) -> int:
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        return self.upload_bytes if upload and scope["path"].startswith("/console/") else self.json_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        limit = self.limit_for(scope, headers)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await refuse(send, BodyTooLarge(limit))
            return
        received, started = 0, False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:
            if started:  # too late to answer; the server closes the connection
                raise
            await refuse(send, exc)


async def refuse(send: Any, exc: BodyTooLarge) -> None:
    body = json.dumps({"error": exc.detail}).encode()
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of the body is never read
    ]
    await send({"type": "http.response.start", "status": 413, "headers": head})
    await send({"type": "http.response.body", "body": body})
