"""Channel ``weibo``: a status with the referral link and the product photo (spec §2.2).

The text is fitted to 140 as Weibo counts (a CJK character 1, two ASCII characters 1) with room kept
for a short marker — ``ws:`` and eight hex digits of the post's idempotency key's hash — that lets a retry after a
lost reply find the status in the user's timeline (§2 has no idempotency key of its own). The referral
link is on the store's domain, which must be the app's safe domain (§2.2); the core refuses a post whose
link is elsewhere before anything is sent.
"""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from weishang_core.channels import Account, Channel, Limits, Option, PublishResult, count_text
from weishang_core.content import Content, compose
from weishang_core.errors import AuthExpired, PermanentError
from weishang_core.images import fit_for_upload
from weishang_core.models import utcnow
from weishang_weibo.api import REPEATED, WeiboClient, WeiboError, expires_at

MARKER_PREFIX = " ws:"
MAX_PIC = 5 * 1024 * 1024  # pic must be < 5 MB (§2.2)
WARN_DAYS = 3  # warn this long before the token expires
MIME = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}


def marker(idempotency_key: str) -> str:
    """`` ws:`` and 8 hex digits of the key's hash: 12 ASCII characters, so exactly 6 as Weibo counts."""
    return f"{MARKER_PREFIX}{hashlib.sha256(idempotency_key.encode()).hexdigest()[:8]}"


def local_ip() -> str:
    """This machine's outward address, for ``rip`` when the account sets none (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("203.0.113.1", 9))  # TEST-NET-3: only picks the route
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


class Weibo(Channel):
    name = "weibo"
    display_name = "Sina Weibo (微博)"
    limits = Limits(
        text_max=140,  # statuses/share: ≤ 140 Chinese characters (§2.2)
        text_counting="weibo",
        images_max=1,  # one `pic`
        image_formats=("jpeg", "png", "gif"),
        image_max_bytes=MAX_PIC - 1,
        link_required=True,  # a URL on the app's safe domain is mandatory (§2.2)
        link_domain_option="safe_domain",
        hourly_posts=30,  # posting a status: 30/hour per user (§2.3)
    )
    options = (
        Option("app_key", required=True, help="the app's App Key (client_id)"),
        Option("app_secret", required=True, secret=True, help="the app's App Secret"),
        Option("redirect_uri", required=True, help="the OAuth2 redirect URI registered for the app"),
        Option("safe_domain", required=True, help="the app's safe domain: your store's domain"),
        Option("api_base", default="https://api.weibo.com", help="API base URL (an emulator in tests)"),
        Option("rip", help="the poster's real public IP for `rip` (default: this machine's address)"),
    )
    supports_lookup = True
    uses_oauth = True

    def client(self, account: Account) -> WeiboClient:
        return WeiboClient(account.option("api_base") or "https://api.weibo.com")

    # -- connecting (§2.1) --------------------------------------------------------------------------------
    def redirect_uri(self, account: Account) -> str | None:
        return account.option("redirect_uri")

    def authorize_url(self, account: Account, state: str) -> str:
        query = urlencode({"client_id": account.option("app_key"), "redirect_uri": account.option("redirect_uri"),
                           "state": state})  # fmt: skip
        return f"{self.client(account).base}/oauth2/authorize?{query}"

    def connect(self, account: Account, code: str) -> str:
        token = self.client(account).exchange_code(
            account.option("app_key") or "", account.option("app_secret") or "", account.option("redirect_uri") or "",
            code,
        )  # fmt: skip
        account.state.update(token)
        return f"connected to Weibo user {token['uid']}; the token is valid until {token['expires_at'][:16]} UTC"

    def _token(self, account: Account) -> str:
        token = account.state.get("access_token")
        if not token:
            raise AuthExpired("the account is not connected to Weibo yet")
        until = expires_at(account.state)
        if until is not None and until <= utcnow():
            raise AuthExpired(f"the Weibo token expired at {until:%Y-%m-%d %H:%M} UTC")
        return str(token)

    def health(self, account: Account) -> str | None:
        if not account.state.get("access_token"):
            return f"not connected: run `weishang account connect {account.name}`"
        until = expires_at(account.state)
        if until is None:
            return None
        if until <= utcnow():
            return f"token expired: run `weishang account connect {account.name}`"
        if until - utcnow() < timedelta(days=WARN_DAYS):
            return f"token expires {until:%Y-%m-%d %H:%M} UTC: run `weishang account connect {account.name}`"
        return None

    def check(self, account: Account) -> str:
        info = self.client(account).token_info(self._token(account))
        days = info["expire_in"] // 86400
        return f"Weibo knows the token: user {info.get('uid')}, valid for {days} more day(s)"

    # -- posting (§2.2) -----------------------------------------------------------------------------------
    def render(self, content: Content) -> dict[str, Any]:
        # The marker's even number of ASCII characters adds exactly its own count, whatever precedes it.
        room = replace(self.limits, text_max=140 - count_text(marker("ws-000000"), "weibo"))
        return {
            "text": compose(content, room),
            "images": [str(p) for p in content.images[:1]],
            "link": content.link,
        }

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        token = self._token(account)
        pic = None
        if payload.get("images"):
            path = Path(payload["images"][0])
            data, kind = fit_for_upload(path, MAX_PIC, formats=("JPEG", "PNG", "GIF"))
            pic = (f"{path.stem}.{'jpg' if kind == 'jpeg' else kind}", data, MIME[kind])
        status_text = payload["text"] + marker(idempotency_key)
        rip = account.option("rip") or local_ip()
        try:
            status = self.client(account).share(token, status_text, rip, pic)
        except WeiboError as exc:
            if exc.code in REPEATED:  # §2.3: on a retry this means our earlier attempt went out
                found = self.lookup(account, idempotency_key)
                if found is not None:
                    return found
            raise
        return self._result(account, status)

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        mark = marker(idempotency_key)
        uid = str(account.state.get("uid") or "")
        for status in self.client(account).user_timeline(self._token(account), uid, count=50):
            if str(status.get("text", "")).endswith(mark):
                return self._result(account, status)
        return None

    def _result(self, account: Account, status: dict[str, Any]) -> PublishResult:
        idstr = str(status.get("idstr") or status.get("id") or "")
        if not idstr:
            raise PermanentError("Weibo answered without the new status's id")
        uid = (status.get("user") or {}).get("idstr") or account.state.get("uid")
        return PublishResult(external_id=idstr, url=f"https://weibo.com/{uid}/{idstr}")
