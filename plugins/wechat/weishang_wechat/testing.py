"""``WeChatEmulator``: the Official Account API on 127.0.0.1, as ``shared/specs/CHANNEL_APIS.md`` §1 says.

Errors are HTTP 200 with ``errcode``. Tokens expire (``token_ttl``); ``stable_token`` returns the same
token while it has over 300 s left and a new one after, and ``force_refresh`` replaces it at once, while
``/token`` keeps the old token valid for five more minutes (§1.1). Submit and poll have daily quotas
(100 each, §1.5). A submitted draft publishes after ``publish_seconds`` with ``publish_outcome`` (0, or
2–6 for the failures of §1.4), and is then removed from the draft box. ``inject_errcode`` makes a path
answer a given errcode; everything received is recorded.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter, defaultdict, deque
from typing import Any

from weishang_core.testing import Emulator, Request, Response


class WeChatEmulator(Emulator):
    publish_paths = ("/cgi-bin/draft/add",)
    appid = "wx-emulated-appid"
    secret = "emulated-app-secret"

    def __init__(
        self,
        token_ttl: int = 7200,
        publish_seconds: float = 0.3,
        publish_outcome: int = 0,
        submit_quota: int = 100,
        poll_quota: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token_ttl = token_ttl
        self.publish_seconds = publish_seconds
        self.publish_outcome = publish_outcome
        self.quotas = {"/cgi-bin/freepublish/submit": submit_quota, "/cgi-bin/freepublish/get": poll_quota}
        self.used: Counter[str] = Counter()
        self.tokens: dict[str, float] = {}  # token -> expires at (monotonic)
        self.stable: str | None = None
        self.errcodes: dict[str, deque[int]] = defaultdict(deque)
        self.materials: dict[str, bytes] = {}
        self.uploads: dict[str, bytes] = {}
        self.drafts: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}
        self.token_calls = 0

    # -- test controls -------------------------------------------------------------------------------
    def inject_errcode(self, path: str, errcode: int, times: int = 1) -> None:
        with self.lock:
            self.errcodes[path].extend([errcode] * times)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: 0.0 for token in self.tokens}

    def fault(self, kind: str, request: Request) -> Response:
        code = {"transient": -1, "rate_limited": 45009, "auth_expired": 42001, "permanent": 45166}[kind]
        if code == 42001:
            self.expire_tokens()
        return self._error(code)

    # -- the API ---------------------------------------------------------------------------------------
    @staticmethod
    def _error(code: int, message: str | None = None) -> Response:
        text = message or {
            -1: "system error",
            40001: "invalid credential, access_token is invalid or not latest",
            42001: "access_token expired",
            45009: "reach max api daily quota limit",
            45166: "invalid content",
            40013: "invalid appid",
            40007: "invalid media_id",
            53502: "invalid publish_id",
        }.get(code, "error")
        return Response.json(
            {"errcode": code, "errmsg": f"{text} rid: {secrets.token_hex(4)}"},
            content_type="application/json; encoding=utf-8",
        )

    def _new_token(self) -> str:
        token = "ACCESS_" + secrets.token_hex(16)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return token

    def handle(self, request: Request) -> Response:
        path = request.path
        with self.lock:
            if self.errcodes[path]:
                code = self.errcodes[path].popleft()
                if code == 42001:  # "expired" is true on the server too
                    self.tokens = {token: 0.0 for token in self.tokens}
                return self._error(code)
            if path in self.quotas:
                self.used[path] += 1
                if self.used[path] > self.quotas[path]:
                    return self._error(45009)
        if path == "/cgi-bin/stable_token":
            return self._stable_token(request)
        if path == "/cgi-bin/token":
            return self._plain_token(request)
        token = request.query.get("access_token")
        with self.lock:
            if not token:
                return self._error(41001, "access_token missing")
            if token not in self.tokens:
                return self._error(40001)
            if self.tokens[token] <= time.monotonic():
                return self._error(42001)
        handler = {
            "/cgi-bin/material/add_material": self._add_material,
            "/cgi-bin/media/uploadimg": self._uploadimg,
            "/cgi-bin/draft/add": self._draft_add,
            "/cgi-bin/draft/batchget": self._draft_batchget,
            "/cgi-bin/freepublish/submit": self._submit,
            "/cgi-bin/freepublish/get": self._get,
            "/cgi-bin/freepublish/batchget": self._published_batchget,
        }.get(path)
        if handler is None:
            return Response.json({"errcode": 99999, "errmsg": "no such api"})
        with self.lock:
            return handler(request)

    def _check_credentials(self, appid: str | None, secret: str | None) -> Response | None:
        if appid != self.appid:
            return self._error(40013)
        if secret != self.secret:
            return self._error(40125, "invalid appsecret")
        return None

    def _stable_token(self, request: Request) -> Response:
        body = request.json() or {}
        if (refused := self._check_credentials(body.get("appid"), body.get("secret"))) is not None:
            return refused
        with self.lock:
            self.token_calls += 1
            now = time.monotonic()
            current = self.stable
            if body.get("force_refresh") or current is None or self.tokens.get(current, 0) - now < 300:
                if current is not None and body.get("force_refresh"):
                    self.tokens.pop(current, None)  # force_refresh invalidates the old token (§1.1)
                current = self.stable = self._new_token()
            return Response.json({"access_token": current, "expires_in": int(self.tokens[current] - now)})

    def _plain_token(self, request: Request) -> Response:
        if (refused := self._check_credentials(request.query.get("appid"), request.query.get("secret"))) is not None:
            return refused
        with self.lock:
            self.token_calls += 1
            for token in self.tokens:  # the old token stays valid for five more minutes (§1.1)
                self.tokens[token] = min(self.tokens[token], time.monotonic() + 300)
            return Response.json({"access_token": self._new_token(), "expires_in": self.token_ttl})

    def _image(self, request: Request, allowed: tuple[bytes, ...], limit: int) -> tuple[bytes | None, Response | None]:
        if "media" not in request.files:
            return None, self._error(41005, "media data missing")
        data = request.files["media"][1]
        if not data.startswith(allowed):
            return None, self._error(40005, "invalid file type")
        if len(data) >= limit:
            return None, self._error(40009, "invalid image size")
        return data, None

    def _add_material(self, request: Request) -> Response:
        if request.query.get("type") != "image":
            return self._error(40004, "invalid media type")
        data, refused = self._image(request, (b"\xff\xd8", b"\x89PNG", b"GIF8", b"BM"), 10 * 1024 * 1024)
        if refused:
            return refused
        media_id = "MATERIAL_" + secrets.token_hex(8)
        self.materials[media_id] = data or b""
        return Response.json({"media_id": media_id, "url": f"http://mmbiz.qpic.cn/material/{media_id}", "item": []})

    def _uploadimg(self, request: Request) -> Response:
        data, refused = self._image(request, (b"\xff\xd8", b"\x89PNG"), 1024 * 1024)
        if refused:
            return refused
        name = secrets.token_hex(8)
        self.uploads[name] = data or b""
        return Response.json({"url": f"http://mmbiz.qpic.cn/mmbiz_png/{name}/0", "errcode": 0, "errmsg": "ok"})

    def _draft_add(self, request: Request) -> Response:
        articles = (request.json() or {}).get("articles") or []
        if not articles:
            return self._error(44003, "empty news data")
        for entry in articles:
            for field in ("title", "content", "thumb_media_id"):
                if not entry.get(field):
                    return self._error(47001, f"data format error: {field} missing")
            if len(entry["title"]) > 32 or len(entry.get("author", "")) > 16 or len(entry.get("digest", "")) > 128:
                return self._error(45002, "content size out of limit")
            if len(entry["content"]) >= 20_000:
                return self._error(45002, "content size out of limit")
            if entry["thumb_media_id"] not in self.materials:
                return self._error(40007)
        media_id = "DRAFT_" + secrets.token_hex(8)
        self.drafts[media_id] = {"articles": articles, "update_time": int(time.time())}
        return Response.json({"media_id": media_id})

    @staticmethod
    def _page(items: list[dict[str, Any]], request: Request) -> Response:
        body = request.json() or {}
        offset, count = int(body.get("offset", 0)), min(20, int(body.get("count", 20)))
        page = items[offset : offset + count]
        return Response.json({"total_count": len(items), "item_count": len(page), "item": page})

    def _draft_batchget(self, request: Request) -> Response:
        items = [
            {"media_id": media_id, "content": {"news_item": draft["articles"]}, "update_time": draft["update_time"]}
            for media_id, draft in reversed(self.drafts.items())
        ]
        return self._page(items, request)

    def _submit(self, request: Request) -> Response:
        media_id = (request.json() or {}).get("media_id")
        if media_id not in self.drafts:
            return self._error(40007)
        publish_id = 2247483000 + len(self.jobs) + 1  # a number, as real replies carry (§1.4)
        self.jobs[str(publish_id)] = {"media_id": media_id, "at": time.monotonic(), "outcome": self.publish_outcome}
        return Response.json({"errcode": 0, "errmsg": "ok", "publish_id": publish_id, "msg_data_id": publish_id})

    def _get(self, request: Request) -> Response:
        publish_id = str((request.json() or {}).get("publish_id"))  # string or number, both accepted
        job = self.jobs.get(publish_id)
        if job is None:
            return self._error(53502)
        if time.monotonic() - job["at"] < self.publish_seconds:
            return Response.json({"publish_id": publish_id, "publish_status": 1})
        if job["outcome"] != 0:
            return Response.json({"publish_id": int(publish_id), "publish_status": job["outcome"], "fail_idx": [1]})
        if "article_id" not in job:
            article_id = "ARTICLE_" + secrets.token_hex(6)
            draft = self.drafts.pop(job["media_id"])  # a published draft leaves the draft box (§1.4)
            url = f"https://mp.weixin.qq.com/s/{article_id}"
            news = [{**entry, "url": url} for entry in draft["articles"]]
            self.published[article_id] = {"news_item": news, "update_time": int(time.time())}
            job["article_id"], job["url"] = article_id, url
        return Response.json(
            {
                "publish_id": publish_id,
                "publish_status": 0,
                "article_id": job["article_id"],
                "article_detail": {"count": 1, "item": [{"idx": 1, "article_url": job["url"]}]},
                "fail_idx": [],
            }
        )

    def _published_batchget(self, request: Request) -> Response:
        items = [
            {
                "article_id": article_id,
                "content": {"news_item": entry["news_item"]},
                "update_time": entry["update_time"],
            }
            for article_id, entry in reversed(self.published.items())
        ]
        return self._page(items, request)
