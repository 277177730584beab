"""Signed, expiring tokens for cookies, order pages, CSRF and magic sign-in links.

A token is ``payload.issued.signature`` where the signature is HMAC-SHA256 over the purpose, payload
and issue time with the store's secret. The secret lives in the database (``store_settings``), so every
server process and machine signs alike without configuration; set ``WEISHANG_SECRET_KEY`` to choose it.
Payloads are ids and random visitor ids, never secrets, so they travel in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weishang_core.models import StoreSetting

KEY = "webstore_secret"


def store_secret(session: Session) -> bytes:
    """The signing key: WEISHANG_SECRET_KEY, else one generated on first use and kept in the database."""
    configured = os.environ.get("WEISHANG_SECRET_KEY")
    if configured:
        return configured.encode()
    row = session.get(StoreSetting, KEY)
    if row is None:
        try:  # two server processes starting at once: the first insert wins, the other reads it
            with session.begin_nested():
                session.add(StoreSetting(key=KEY, value=secrets.token_urlsafe(32)))
        except IntegrityError:
            pass
        row = session.get(StoreSetting, KEY, populate_existing=True)
    assert row is not None
    return row.value.encode()


class Signer:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _mac(self, purpose: str, payload: str, issued: str) -> str:
        digest = hmac.new(self.secret, f"{purpose}|{payload}|{issued}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")

    def sign(self, purpose: str, payload: str, now: float | None = None) -> str:
        issued = str(int(now if now is not None else time.time()))
        return f"{payload}.{issued}.{self._mac(purpose, payload, issued)}"

    def unsign(self, purpose: str, token: str | None, max_age: float, now: float | None = None) -> str | None:
        """The payload of a valid, unexpired token for this purpose; None for anything else."""
        if not token or token.count(".") < 2:
            return None
        payload, issued, mac = token.rsplit(".", 2)
        if not hmac.compare_digest(mac, self._mac(purpose, payload, issued)) or not issued.isdigit():
            return None
        age = (now if now is not None else time.time()) - int(issued)
        return payload if -60 <= age <= max_age else None
