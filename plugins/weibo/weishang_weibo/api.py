"""A small client for the Weibo Open API (``shared/specs/CHANNEL_APIS.md`` §2).

Errors come as ``{"error", "error_code", "request"}`` with ``error_code`` sometimes a string and the HTTP
status not always 200 (§2.3), so every reply body is read as JSON first and the code coerced to int.
The class of each code follows the current table mirrored in §2.3.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from weishang_core import outbound
from weishang_core.errors import AuthExpired, PermanentError, RateLimited, TransientError, UnknownOutcome
from weishang_core.models import utcnow

TIMEOUT = (5, 30)
RATE_LIMITED = {10022, 10023, 10024, 20016}  # §2.3: IP / user / per-API limits, posting too often
REPEATED = {20017, 20019, 20111}  # §2.3: similar, identical, duplicate content
AUTH_EXPIRED = {21314, 21315, 21316, 21317, 21327, 21332}  # §2.3: token used/expired/revoked/rejected
MEANINGS = {  # §2.1 and §2.3, in words a seller can act on
    10006: "the app key is missing",
    10014: "the app lacks permission for this API",
    10017: "invalid parameter value (a status needs a link on the app's safe domain)",
    20005: "unsupported image type",
    20006: "the image is too large",
    20012: "the text is longer than 140 characters",
    20018: "the text contains a URL Weibo considers illegal",
    20020: "Weibo judged the post to be advertising",
    20021: "Weibo judged the content illegal",
    21322: "redirect_uri does not match the one registered for the app",
    21323: "invalid request",
    21324: "invalid app key or app secret",
    21325: "the authorization code is invalid or was already used",
    21330: "the user denied access",
}


class WeiboError(PermanentError):
    """A refusal Weibo gave with its own error code (kept so callers can branch on it)."""


def error_code(data: Any) -> int | None:
    if not isinstance(data, dict) or "error_code" not in data:
        return None
    try:
        return int(data["error_code"])  # §2.3: may be a string such as "20019"
    except (TypeError, ValueError):
        return -1


def raise_for_error(status: int, data: Any, path: str) -> None:
    code = error_code(data)
    if code is None:
        if status >= 500:
            raise TransientError(f"Weibo answered HTTP {status} for {path}", code=status)
        if status >= 400 or not isinstance(data, dict):
            raise PermanentError(f"Weibo answered HTTP {status} for {path}", code=status)
        return
    message = str(data.get("error") or data.get("error_description") or "")
    if code in RATE_LIMITED:
        wait = 3600 if code == 20016 else 600  # posting too often waits out the hour; call limits less
        raise RateLimited(f"Weibo rate limit ({path}): {message}", retry_after=wait, code=code)
    if code in AUTH_EXPIRED:
        raise AuthExpired(f"the Weibo access token no longer works ({message or 'expired'})", code=code)
    if status >= 500 or code == 21331:  # temporarily_unavailable
        raise TransientError(f"Weibo is unavailable ({path}): {message}", code=code)
    raise WeiboError(f"Weibo refused {path}: {MEANINGS.get(code, message or 'no reason given')}", code=code)


def parse_seconds(value: Any) -> int:
    """``expires_in`` comes as "7200" in the official example and as 7200 elsewhere (§2.1): take both."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise TransientError(f"Weibo sent an expiry that is not a number: {value!r}") from None


class WeiboClient:
    def __init__(self, api_base: str) -> None:
        self.base = api_base.rstrip("/")
        self.session = outbound.session()  # connections kept alive between calls

    def request(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> Any:
        """Send one call; a POST whose reply is lost is an unknown outcome, not a failure."""
        idempotent = method == "GET" if idempotent is None else idempotent
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=TIMEOUT, **kwargs)
        except requests.Timeout:
            error = TransientError if idempotent else UnknownOutcome
            raise error(f"Weibo did not answer {path} in time") from None
        except requests.ConnectionError:
            error = TransientError if idempotent else UnknownOutcome
            raise error(f"the connection to Weibo broke during {path}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        raise_for_error(response.status_code, data, path)
        return data

    # -- OAuth2 (§2.1) ------------------------------------------------------------------------------------
    def exchange_code(self, app_key: str, app_secret: str, redirect_uri: str, code: str) -> dict[str, Any]:
        """Trade an authorization code for a token; returns access_token, uid and expires_at."""
        data = self.request(
            "POST",
            "/oauth2/access_token",
            idempotent=True,  # a code works once: a lost reply shows up as 21325 on retry, never a duplicate
            data={
                "client_id": app_key,
                "client_secret": app_secret,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
            },
        )
        seconds = parse_seconds(data.get("expires_in"))
        if data.get("remind_in") not in (None, ""):  # deprecated, but sinaweibopy takes the smaller (§2.1)
            seconds = min(seconds, parse_seconds(data["remind_in"]))
        return {
            "access_token": str(data["access_token"]),
            "uid": str(data["uid"]),
            "expires_at": (utcnow() + timedelta(seconds=seconds)).isoformat(),
        }

    def token_info(self, access_token: str) -> dict[str, Any]:
        data = self.request("POST", "/oauth2/get_token_info", idempotent=True, data={"access_token": access_token})
        # The field was renamed expires_in → expire_in (§2.1): read whichever is there.
        data["expire_in"] = parse_seconds(data.get("expire_in", data.get("expires_in", 0)))
        return data

    # -- statuses (§2.2) ----------------------------------------------------------------------------------
    def share(self, access_token: str, status: str, rip: str, pic: tuple[str, bytes, str] | None) -> dict[str, Any]:
        """Post a status; with a picture the body is multipart, without it a plain form (§2.2)."""
        form = {"access_token": access_token, "status": status, "rip": rip}
        if pic is None:
            return self.request("POST", "/2/statuses/share.json", data=form)
        return self.request("POST", "/2/statuses/share.json", data=form, files={"pic": pic})

    def user_timeline(self, access_token: str, uid: str, count: int = 50) -> list[dict[str, Any]]:
        data = self.request(
            "GET", "/2/statuses/user_timeline.json", params={"access_token": access_token, "uid": uid, "count": count}
        )
        return list(data.get("statuses") or [])


def expires_at(state: dict[str, Any]) -> datetime | None:
    value = state.get("expires_at")
    return datetime.fromisoformat(value) if value else None
