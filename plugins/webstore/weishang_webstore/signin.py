"""Signing in to the store: single-use links, one-time codes, and sessions their owner can see and end.

A store session lives on the server (``weishang_core.sessions``, purpose ``store``); its cookie (or a
``Bearer`` header, for the JSON API) carries only a random token. The seller's sign-in link for a
reseller works once, within a day; a returning buyer or reseller on another phone asks for a code sent
to a phone or email they proved (or the seller vouched for). Signing in on a browser also tells the
store who that browser is, so its next checkout is theirs (``identities.link_visitor``). No FastAPI
here: the CLI sends sign-in links with ``magic_link``; the routes are in ``routes/signin.py``.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from weishang_core import identities, sessions
from weishang_core.config import Settings
from weishang_core.errors import Forbidden, UserError
from weishang_core.models import Identity, SignInSession
from weishang_webstore.console_auth import spend
from weishang_webstore.signing import Signer, store_secret

if TYPE_CHECKING:
    from starlette.requests import Request

SESSION = "ws_session"
SESSION_AGE = int(sessions.AGES[sessions.STORE].total_seconds())  # the cookie's; the server's row decides
MAGIC_AGE = 24 * 3600
LOG = logging.getLogger("weishang.webstore")


def token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(SESSION)


def signed_in(session: Session, request: Request) -> tuple[SignInSession, Identity] | None:
    """The live store session of this request and its person, or None."""
    row = sessions.current(session, token_of(request), sessions.STORE)
    person = session.get(Identity, row.identity_id) if row is not None else None
    return (row, person) if row is not None and person is not None else None


def begin(session: Session, person: Identity, request: Request, visitor: str | None) -> str:
    """Start a store session for someone who just proved who they are on this browser; its token."""
    _, token = sessions.start(session, person, sessions.STORE, request.headers.get("user-agent"))
    if visitor:
        identities.link_visitor(session, visitor, person)
    return token


def magic_link(session: Session, settings: Settings, handle: str) -> str:
    """A sign-in link for a reseller: it works once, within a day (the default sender logs it)."""
    person = identities.get(session, handle, "name")
    if not person.is_reseller:
        raise UserError(f"name: {handle!r} is not a reseller")
    token = Signer(store_secret(session)).sign("magic", f"{person.id}:{secrets.token_urlsafe(16)}")
    return f"{settings.store_url}/signin?t={token}"


def send_signin_link(handle: str, link: str) -> None:
    """The default sender writes the link to the server log, for the seller to pass on by hand."""
    LOG.warning("sign-in link for %s: %s", handle, link)


def redeem(session: Session, sign: Signer, token: str) -> Identity:
    """Spend a reseller's sign-in link: the person, or Forbidden (forged, expired or used)."""
    payload = sign.unsign("magic", token, MAGIC_AGE)
    person_id, _, nonce = (payload or "").partition(":")
    person = session.get(Identity, int(person_id)) if person_id.isdigit() and nonce else None
    if person is None or not person.is_reseller:
        raise Forbidden("token: this sign-in link is invalid or has expired; ask for a new one")
    if not spend(session, f"magic:{nonce}"):
        raise Forbidden("token: this sign-in link has been used already; ask for a new one")
    return person


def sessions_shown(session: Session, request: Request) -> list[dict[str, Any]]:
    """For the /me page: the person's live sessions."""
    found = signed_in(session, request)
    if found is None:
        return []
    here, person = found
    return [sessions.as_dict(row, who, here.id) for row, who in sessions.listed(session, person.id)]
