"""A real HTTP server on 127.0.0.1 that plays an outlet's API, with faults on demand.

Subclasses implement :meth:`Emulator.handle` for their endpoints and :meth:`Emulator.fault` to say what
each generic fault looks like on their outlet (WeChat answers HTTP 200 with an ``errcode``; a REST API
answers 429 or 503). Tests inject faults by kind — ``transient``, ``rate_limited``, ``auth_expired``,
``permanent``, ``drop_reply`` — or set ``fail_rate`` for random transient failures from a seeded RNG.
Every request is recorded in :attr:`Emulator.received`.

Each response is written with one ``write`` call: status line, headers and body together. Writing
headers and body separately meets Nagle's algorithm and delayed ACKs and costs 40 ms a call.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("transient", "rate_limited", "auth_expired", "permanent", "drop_reply")
REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    client: str = ""  # the caller's "host:port": one per connection, so a test can count connections

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    @classmethod
    def json(
        cls, data: Any, status: int = 200, content_type: str = "application/json; charset=utf-8", **headers: str
    ) -> Response:
        return cls(status, json.dumps(data, ensure_ascii=False).encode(), dict(headers), content_type)

    def encode(self, keep_alive: bool) -> bytes:
        head = [
            f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Status')}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


class _DropReply(Exception):
    """Raised inside a handler: the work is done, but the reply never reaches the client."""


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in body.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        raw_headers, _, content = part.partition(b"\r\n\r\n")
        content = content[:-2] if content.endswith(b"\r\n") else content
        disposition = next(
            (
                h
                for h in raw_headers.decode("utf-8", "replace").split("\r\n")
                if h.lower().startswith("content-disposition")
            ),
            "",
        )
        params = dict(p.strip().split("=", 1) for p in disposition.split(";")[1:] if "=" in p)
        name = params.get("name", "").strip('"')
        if "filename" in params:
            files[name] = (params["filename"].strip('"'), content)
        elif name:
            form[name] = content.decode("utf-8", "replace")
    return form, files


class Emulator:
    """Base class of outlet emulators: start it, point an account's ``api_base`` at :attr:`base_url`."""

    publish_paths: tuple[str, ...] = ()  # where injected faults apply (empty: every path)

    def __init__(self, latency: float = 0.0, fail_rate: float = 0.0, seed: int = 7) -> None:
        self.latency = latency
        self.fail_rate = fail_rate
        self.random = random.Random(seed)
        self.received: list[Request] = []
        self.faults: deque[str] = deque()
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- for subclasses ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        return Response.json({"error": "not found"}, 404)

    def fault(self, kind: str, request: Request) -> Response:
        """The outlet's own reply for a generic fault kind (``drop_reply`` is handled here)."""
        return {
            "transient": Response.json({"error": "busy"}, 503),
            "rate_limited": Response.json({"error": "rate limited"}, 429, **{"Retry-After": "1"}),
            "auth_expired": Response.json({"error": "token expired"}, 401),
            "permanent": Response.json({"error": "rejected"}, 400),
        }[kind]

    # -- for tests ----------------------------------------------------------------------------------------
    def inject(self, kind: str, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose from {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.faults.extend([kind] * times)

    def drop_reply(self) -> None:
        """Call from a handler after doing the work: the client never hears back."""
        raise _DropReply

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the emulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def calls(self, path: str) -> list[Request]:
        return [r for r in self.received if r.path == path]

    def start(self) -> Emulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    url.path,
                    {k: v[-1] for k, v in parse_qs(url.query).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    client=f"{self.client_address[0]}:{self.client_address[1]}",
                )
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):
                    request.form, request.files = _parse_multipart(ctype, body)
                elif ctype.startswith("application/x-www-form-urlencoded"):
                    request.form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
                try:
                    response = emulator._respond(request)
                except _DropReply:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                keep = self.headers.get("Connection", "").lower() != "close"
                self.wfile.write(response.encode(keep))
                self.close_connection = not keep

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # socketserver's 5 drops or resets connections when many arrive at once

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that hang up (killed workers, timeouts) are part of the tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _respond(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.received.append(request)
            applies = not self.publish_paths or request.path in self.publish_paths
            kind = self.faults.popleft() if applies and self.faults else None
            if kind is None and applies and self.fail_rate and self.random.random() < self.fail_rate:
                kind = "transient"
        if kind == "drop_reply":
            self.handle(request)
            raise _DropReply
        if kind is not None:
            return self.fault(kind, request)
        return self.handle(request)
