"""Catch one OAuth2 redirect on a local address, so connecting an account needs no copy and paste.

``weishang account connect`` starts this when the account's redirect URI points at 127.0.0.1 or
localhost: the outlet sends the browser to ``redirect_uri?code=…&state=…`` and the server hands the code
back once the ``state`` matches what the command sent out (a stray or forged request is answered 400
and ignored).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from weishang_core.errors import UserError

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PAGE = "<!doctype html><meta charset=utf-8><title>weishang</title><p>{}</p>"


def is_local(redirect_uri: str) -> bool:
    return (urlsplit(redirect_uri).hostname or "") in LOCAL_HOSTS


def code_from(pasted: str) -> str:
    """Accept the bare code or the whole address the browser landed on."""
    pasted = pasted.strip()
    if "://" in pasted or pasted.startswith("?") or "code=" in pasted:
        query = parse_qs(urlsplit(pasted).query or pasted.lstrip("?"))
        if "error" in query:
            raise UserError(f"code: the outlet refused: {query.get('error_description', query['error'])[0]}")
        if "code" not in query:
            raise UserError("code: the address has no code= in it")
        return query["code"][0]
    if not pasted:
        raise UserError("code: nothing was pasted")
    return pasted


class CallbackServer:
    """A one-shot listener on the redirect URI's host, port and path."""

    def __init__(self, redirect_uri: str, state: str) -> None:
        url = urlsplit(redirect_uri)
        self.path = url.path or "/"
        self.state = state
        self.code: str | None = None
        self.error: str | None = None
        self.done = threading.Event()
        port = url.port or 80
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                request = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(request.query).items()}
                if request.path != outer.path or query.get("state") != outer.state:
                    return self.reply(400, "This is not the authorisation weishang is waiting for.")
                if "error" in query:
                    outer.error = query.get("error_description") or query["error"]
                    self.reply(200, "The outlet did not grant access. You can close this tab.")
                elif "code" in query:
                    outer.code = query["code"]
                    self.reply(200, "weishang is connected. You can close this tab and go back to the terminal.")
                else:
                    return self.reply(400, "The address has no code.")
                outer.done.set()

            def reply(self, status: int, text: str) -> None:
                body = PAGE.format(text).encode()
                head = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Bad Request'}\r\n"
                    f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
                    "Connection: close\r\n\r\n"
                )
                self.wfile.write(head.encode() + body)  # one write: see the emulator's note on Nagle

        try:
            self.server = HTTPServer((url.hostname or "127.0.0.1", port), Handler)
        except OSError as exc:
            raise UserError(
                f"redirect_uri: cannot listen on {url.hostname}:{port} ({exc.strerror}); "
                "paste the code instead with --code"
            ) from None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, timeout: float) -> str:
        try:
            if not self.done.wait(timeout):
                raise UserError(f"code: no authorisation arrived within {timeout:g} seconds; run connect again")
        finally:
            self.server.shutdown()
            self.server.server_close()
        if self.error:
            raise UserError(f"code: the outlet refused: {self.error}")
        assert self.code is not None
        return self.code
