"""A small client for the WeChat Official Account API (``shared/specs/CHANNEL_APIS.md`` §1).

Errors come back as HTTP 200 with ``{"errcode": N, "errmsg": "…"}``; a reply is an error only when
``errcode`` is present and not 0 (§1.0, as wechatpy does). The access token comes from
``/cgi-bin/stable_token`` (§1.1): it is shared by every worker through the core's token cache and
refreshed a little before expiry; on 40001, 40014 or 42001 the client refreshes once and retries the call
once — never in a loop (wechatpy sets no cap, §1.1; we do).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from weishang_core import outbound
from weishang_core.errors import AuthExpired, PermanentError, RateLimited, TransientError, UnknownOutcome
from weishang_core.tokens import TokenCache, shared_cache

TIMEOUT = (5, 30)
TOKEN_ERRORS = {40001, 40014, 42001}  # §1.1 / §1.5: refresh and retry once
ACTIONABLE = {  # §1.5: permanent, and the seller can fix them
    40013: "invalid AppID: check the account's appid option",
    40125: "invalid AppSecret: check the account's secret option",
    40164: "this server's IP is not on the Official Account's IP whitelist (公眾平台 → 基本配置 → IP白名單)",
    48001: "the account lacks permission for this API (an unverified account cannot publish)",
    40007: "invalid media_id (thumb_media_id must be a permanent material id)",
    45002: "content size out of limit",
    45166: "WeChat refused the article content (invalid content)",
    47001: "data format error",
    53503: "the draft failed WeChat's publish check",
    53504: "the draft must be used on the mp.weixin.qq.com website",
    53505: "save the draft manually on the website first",
    53500: "publishing is banned for this account",
}
BEIJING = ZoneInfo("Asia/Shanghai")


def seconds_to_quota_reset(now: datetime | None = None) -> float:
    """Daily quotas (45009) reset at midnight Beijing time."""
    now = (now or datetime.now(BEIJING)).astimezone(BEIJING)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    return (midnight - now).total_seconds()


def raise_for_errcode(data: dict[str, Any], path: str) -> None:
    code = data.get("errcode")
    if code in (None, 0):
        return
    message = data.get("errmsg", "")
    if code == -1:
        raise TransientError(f"WeChat is busy ({path}): {message}", code=code)
    if code == 45009:
        raise RateLimited(
            f"WeChat daily API quota reached ({path}); it resets at 00:00 Beijing time",
            retry_after=seconds_to_quota_reset(),
            code=code,
        )
    if code == 45011:
        raise RateLimited(f"WeChat per-minute quota reached ({path})", retry_after=60, code=code)
    if code in TOKEN_ERRORS:
        raise AuthExpired(f"WeChat rejected the access token ({path}): {message}", code=code)
    raise PermanentError(f"WeChat {path}: {ACTIONABLE.get(code, message)}", code=code)


class WeChatClient:
    def __init__(self, api_base: str, appid: str, secret: str, cache: TokenCache | None = None) -> None:
        self.base = api_base.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.cache = cache or shared_cache()
        self.session = outbound.session()  # connections kept alive between calls

    @property
    def cache_key(self) -> str:
        return f"wechat:{self.base}:{self.appid}"

    def _fetch_token(self, force: bool = False) -> tuple[str, int]:
        body: dict[str, str | bool] = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        if force:
            body["force_refresh"] = True
        data = self._send("POST", "/cgi-bin/stable_token", json_body=body)
        raise_for_errcode(data, "stable_token")
        return data["access_token"], int(data.get("expires_in") or 7200)

    def token(self) -> str:
        return self.cache.get_or_fetch(self.cache_key, self._fetch_token)

    def refresh(self, rejected: str) -> str:
        """Replace a rejected token: the shared one if another worker renewed it, else a forced refresh."""
        with self.cache.lock(self.cache_key):
            cached = self.cache.get(self.cache_key)
            if cached and cached[0] != rejected:
                return cached[0]
            value, expires_in = self._fetch_token()
            if value == rejected:  # stable_token hands back the same token while it thinks it valid
                value, expires_in = self._fetch_token(force=True)
            from weishang_core.models import utcnow

            self.cache.set(self.cache_key, value, utcnow() + timedelta(seconds=expires_in))
            return value

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        files: Any = None,
        data: Any = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": params, "timeout": TIMEOUT, "files": files, "data": data}
        if json_body is not None:
            # UTF-8 without \\u escapes, as wechatpy sends and the draft docs ask (§1.0).
            kwargs["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            kwargs["headers"] = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = self.session.request(method, f"{self.base}{path}", **kwargs)
        except requests.Timeout:
            raise UnknownOutcome(f"WeChat did not answer {path} in time") from None
        except requests.ConnectionError:
            if method == "POST":
                raise UnknownOutcome(f"the connection to WeChat broke during {path}") from None
            raise TransientError(f"cannot reach WeChat for {path}") from None
        if response.status_code >= 500:
            raise TransientError(f"WeChat answered HTTP {response.status_code} for {path}", code=response.status_code)
        if response.status_code != 200:
            raise PermanentError(f"WeChat answered HTTP {response.status_code} for {path}", code=response.status_code)
        try:
            return response.json()
        except ValueError:
            raise TransientError(f"WeChat sent a reply to {path} that is not JSON") from None

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A business call with ``?access_token=``: refresh once on a token error, then give up."""
        token = self.token()
        for attempt in (1, 2):
            params = {**(kwargs.pop("params", None) or {}), "access_token": token}
            data = self._send(method, path, params=params, **kwargs)
            try:
                raise_for_errcode(data, path.removeprefix("/cgi-bin/"))
                return data
            except AuthExpired:
                if attempt == 2:
                    raise
                token = self.refresh(token)
                kwargs["params"] = {k: v for k, v in params.items() if k != "access_token"}
        raise AssertionError("unreachable")
