"""The {{name}} channel: publishes a post through the outlet's JSON API.

The API it speaks (change it to your outlet's):
- ``POST {api_base}/v1/posts`` with ``Authorization: Bearer TOKEN`` and ``Idempotency-Key: KEY``, JSON
  ``{"title", "text", "link"}`` → ``201 {"id", "url"}``;
- ``GET {api_base}/v1/posts?idempotency_key=KEY`` → ``{"items": [{"id", "url"}]}``;
- errors: 401 (token expired), 429 with ``Retry-After``, 5xx (retry), other 4xx ``{"error": "…"}``.
"""

from __future__ import annotations

from typing import Any

import requests
from weishang_core import outbound
from weishang_core.channels import Account, Channel, Limits, Option, PublishResult
from weishang_core.errors import AuthExpired, PermanentError, RateLimited, TransientError, UnknownOutcome

TIMEOUT = (5, 30)  # connect, read: every outbound call has a timeout


class {{Class}}Channel(Channel):
    name = "{{name}}"
    display_name = "{{display}}"
    limits = Limits(text_max=1000, images_max=0, link_required=True)
    options = (
        Option("api_base", required=True, help="the API's base URL"),
        Option("token", required=True, secret=True, help="the API token"),
    )
    supports_lookup = True

    def _call(self, account: Account, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{(account.option('api_base') or '').rstrip('/')}{path}"
        headers = {"Authorization": f"Bearer {account.option('token')}", **kwargs.pop("headers", {})}
        try:
            response = outbound.session().request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.ConnectionError as exc:
            if method == "POST":  # the request may have arrived before the connection broke
                raise UnknownOutcome(f"no reply from {self.name}: {exc}") from None
            raise TransientError(f"cannot reach {self.name}: {exc}") from None
        except requests.Timeout as exc:
            raise UnknownOutcome(f"{self.name} did not answer in time: {exc}") from None
        if response.status_code == 401:
            raise AuthExpired(f"{self.name}: the token was refused; issue a new one", code=401)
        if response.status_code == 429:
            retry_after = float(response.headers.get("Retry-After") or 60)
            raise RateLimited(f"{self.name}: rate limited", retry_after=retry_after, code=429)
        if response.status_code >= 500:
            raise TransientError(f"{self.name}: server error", code=response.status_code)
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise PermanentError(f"{self.name}: {message}", code=response.status_code)
        return response

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        body = {"title": payload["title"], "text": payload["text"], "link": payload["link"]}
        data = self._call(account, "POST", "/v1/posts", json=body, headers={"Idempotency-Key": idempotency_key}).json()
        return PublishResult(external_id=str(data["id"]), url=data.get("url"))

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        items = self._call(account, "GET", "/v1/posts", params={"idempotency_key": idempotency_key}).json()["items"]
        return PublishResult(external_id=str(items[0]["id"]), url=items[0].get("url")) if items else None

    def check(self, account: Account) -> str:
        self._call(account, "GET", "/v1/posts", params={"idempotency_key": "weishang-check"})
        return "the token works"
