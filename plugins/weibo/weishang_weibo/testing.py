"""``WeiboEmulator``: the Weibo Open API on 127.0.0.1, as ``shared/specs/CHANNEL_APIS.md`` §2 says.

OAuth2: ``/oauth2/authorize`` shows a browser (``Accept: text/html``) a consent page whose "allow"
posts back; any other client plays a user who consents at once. Either way it redirects to ``redirect_uri`` with a
code (or ``error=access_denied`` when ``deny`` is set); ``/oauth2/access_token`` trades a code once, and
answers ``expires_in`` as a string like the official example (``numbers_as_strings``). Posting counts
characters as Weibo does (20012 past 140), refuses a status without a URL on the safe domain (10017,
HTTP 400), an identical status (20019), more than ``hourly_posts`` an hour (20016), an image that is not
JPEG/PNG/GIF (20005) or not under 5 MB (20006); expired tokens get 21327. Error bodies carry
``error_code`` as a string, as the spec warns. ``inject_error`` makes a path answer a given code once.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from weishang_core.channels import count_text
from weishang_core.content import links_in
from weishang_core.testing import Emulator, Request, Response

MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG": "png", b"GIF8": "gif"}


class WeiboEmulator(Emulator):
    publish_paths = ("/2/statuses/share.json",)
    app_key = "emulated-app-key"
    app_secret = "emulated-app-secret"
    uid = "5500000001"

    def __init__(
        self,
        safe_domain: str = "127.0.0.1",
        token_ttl: int = 157_679_999,
        hourly_posts: int = 30,
        numbers_as_strings: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.safe_domain = safe_domain
        self.token_ttl = token_ttl
        self.hourly_posts = hourly_posts
        self.numbers_as_strings = numbers_as_strings
        self.deny = False
        self.codes: dict[str, str] = {}  # code -> redirect_uri it was issued for
        self.tokens: dict[str, float] = {}  # token -> expires at (wall clock)
        self.statuses: list[dict[str, Any]] = []
        self.pictures: dict[str, bytes] = {}
        self.errors: dict[str, deque[tuple[int, int]]] = defaultdict(deque)
        self.next_id = 4_900_000_000_000_000

    # -- test controls -------------------------------------------------------------------------------
    def inject_error(self, path: str, code: int, http_status: int = 400, times: int = 1) -> None:
        with self.lock:
            self.errors[path].extend([(code, http_status)] * times)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = {token: 0.0 for token in self.tokens}

    def grant_token(self) -> str:
        """A token as if the OAuth2 dance had been done (for tests that are not about connecting)."""
        with self.lock:
            token = "2.00" + secrets.token_hex(12)
            self.tokens[token] = time.time() + self.token_ttl
            return token

    def fault(self, kind: str, request: Request) -> Response:
        return {
            "transient": Response(502, b"<html>502 Bad Gateway</html>", content_type="text/html"),
            "rate_limited": self.error(request, 10023, 403, "User requests out of rate limit!"),
            "auth_expired": self.error(request, 21327, 401, "expired_token"),
            "permanent": self.error(request, 20021, 400, "content is illegal!"),
        }[kind]

    # -- the API --------------------------------------------------------------------------------------
    @staticmethod
    def error(request: Request, code: int, status: int, message: str) -> Response:
        return Response.json({"request": request.path, "error_code": str(code), "error": message}, status)

    def handle(self, request: Request) -> Response:
        with self.lock:
            injected = self.errors[request.path]
            if injected:
                code, status = injected.popleft()
                return self.error(request, code, status, f"injected error {code}")
        routes = {
            "/oauth2/authorize": self.authorize,
            "/oauth2/access_token": self.access_token,
            "/oauth2/get_token_info": self.token_info,
            "/2/statuses/share.json": self.share,
            "/2/statuses/user_timeline.json": self.user_timeline,
        }
        route = routes.get(request.path)
        if route is None:
            return self.error(request, 10001, 404, "not found")
        return route(request)

    def _number(self, value: int) -> int | str:
        return str(value) if self.numbers_as_strings else value

    def authorize(self, request: Request) -> Response:
        params = {**request.query, **request.form}
        if params.get("client_id") != self.app_key:
            return self.error(request, 21324, 400, "invalid_client")
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            return self.consent_page(params)
        redirect_uri = params.get("redirect_uri", "")
        extra = {"state": params["state"]} if "state" in params else {}
        if self.deny:
            query = urlencode({"error": "access_denied", "error_code": 21330, **extra})
        else:
            code = secrets.token_hex(16)
            with self.lock:
                self.codes[code] = redirect_uri
            query = urlencode({"code": code, **extra})
        return Response(302, b"", {"Location": f"{redirect_uri}?{query}"}, "text/plain")

    def consent_page(self, params: dict[str, str]) -> Response:
        """What a browser sees, as on weibo.com: the app asks for access; "allow" posts the form back."""
        fields = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in params.items()
            if k in ("client_id", "redirect_uri", "state")
        )
        page = (
            '<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>微博授權 · Weibo authorisation</title></head>'
            '<body style="font-family:sans-serif;padding:16px"><h1>微博 · Weibo (emulator)</h1>'
            f"<p>應用 {escape(params.get('client_id', ''))} 請求發微博的權限。· The app asks to post for you.</p>"
            f'<form method="post" action="/oauth2/authorize">{fields}'
            '<button id="allow" type="submit" style="font-size:1.2em;padding:12px 24px">授權 · Allow</button></form>'
            "</body></html>"
        )
        return Response(200, page.encode(), {}, "text/html; charset=utf-8")

    def access_token(self, request: Request) -> Response:
        form = request.form
        if form.get("client_id") != self.app_key or form.get("client_secret") != self.app_secret:
            return self.error(request, 21324, 400, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            return self.error(request, 21328, 400, "unsupported_grant_type")
        with self.lock:
            issued_for = self.codes.pop(form.get("code", ""), None)
        if issued_for is None:
            return self.error(request, 21325, 400, "invalid_grant")
        if issued_for != form.get("redirect_uri"):
            return self.error(request, 21322, 400, "redirect_uri_mismatch")
        token = self.grant_token()
        ttl = self._number(self.token_ttl)
        return Response.json({"access_token": token, "expires_in": ttl, "remind_in": ttl, "uid": self.uid})

    def _token_error(self, request: Request, token: str | None) -> Response | None:
        if token is None:
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("OAuth2 ") if auth.startswith("OAuth2 ") else None
        if not token:
            return self.error(request, 21301, 401, "auth failed")
        expires = self.tokens.get(token)
        if expires is None:
            return self.error(request, 21332, 401, "invalid_access_token")
        if expires <= time.time():
            return self.error(request, 21327, 401, "expired_token")
        return None

    def token_info(self, request: Request) -> Response:
        token = request.form.get("access_token")
        if (refused := self._token_error(request, token)) is not None:
            return refused
        left = int(self.tokens[token or ""] - time.time())
        return Response.json(
            {"uid": self.uid, "appkey": self.app_key, "scope": "", "create_at": int(time.time()), "expire_in": left}
        )

    def share(self, request: Request) -> Response:
        form = request.form
        if (refused := self._token_error(request, form.get("access_token"))) is not None:
            return refused
        text = form.get("status", "")
        if not text or not form.get("rip"):
            return self.error(request, 10016, 400, "miss required parameter (status, rip)")
        if count_text(text, "weibo") > 140:
            return self.error(request, 20012, 400, "Text too long, please input text less than 140 characters!")
        hosts = [(urlsplit(link).hostname or "").lower() for link in links_in(text)]
        if not any(h == self.safe_domain or h.endswith("." + self.safe_domain) for h in hosts):
            return self.error(request, 10017, 400, "appkey not bind domain!")
        picture = request.files.get("pic")
        if picture is not None:
            kind = next((k for magic, k in MAGIC.items() if picture[1].startswith(magic)), None)
            if kind is None:
                return self.error(request, 20005, 400, "Unsupported image type, only suport JPG, GIF, PNG!")
            if len(picture[1]) >= 5 * 1024 * 1024:
                return self.error(request, 20006, 400, "Image size too large.")
        with self.lock:
            if any(s["text"] == text for s in self.statuses):
                return self.error(request, 20019, 400, "Repeated weibo text!")
            hour_ago = time.time() - 3600
            if sum(1 for s in self.statuses if s["_at"] > hour_ago) >= self.hourly_posts:
                return self.error(request, 20016, 403, "Out of limit!")
            self.next_id += 1
            status: dict[str, Any] = {
                "created_at": datetime.now(UTC).strftime("%a %b %d %H:%M:%S +0000 %Y"),
                "id": self.next_id,
                "mid": str(self.next_id),
                "idstr": str(self.next_id),
                "text": text,
                "source": "weishang",
                "user": {"id": int(self.uid), "idstr": self.uid},
                "_at": time.time(),
            }
            if picture is not None:
                self.pictures[status["idstr"]] = picture[1]
                status["original_pic"] = f"https://wx1.sinaimg.cn/large/{status['idstr']}.jpg"
            self.statuses.append(status)
        return Response.json(self._public(status))

    def user_timeline(self, request: Request) -> Response:
        if (refused := self._token_error(request, request.query.get("access_token"))) is not None:
            return refused
        count = int(request.query.get("count") or 20)
        with self.lock:
            newest = [self._public(s) for s in reversed(self.statuses)][:count]
        return Response.json({"statuses": newest, "total_number": len(self.statuses)})

    @staticmethod
    def _public(status: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in status.items() if not k.startswith("_")}
