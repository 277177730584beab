"""Who may use the seller's console, and how they prove it.

The seller (and the staff they invite with ``weishang staff add``) sign in with a link from
``weishang console-link``: signed, expiring after 15 minutes, and single use — its nonce is written to
``spent_tokens`` when it is used, so a link seen twice (a shared screen, a forwarded chat) fails the
second time. The session is a signed HttpOnly, SameSite=Lax cookie (Lax, so the browser still sends
it when an outlet's OAuth page sends the seller back) carrying the person and a random session nonce;
every form carries a CSRF token made from that nonce. Each request re-reads the person, so a staff
member removed from staff is out at their next click. A reseller's store session is a different token
purpose and never opens the console.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weishang_core import identities
from weishang_core.config import Settings
from weishang_core.errors import UserError
from weishang_core.models import Identity, SpentToken
from weishang_webstore.signing import Signer, store_secret

COOKIE = "ws_console"
SESSION_AGE = 12 * 3600
LINK_AGE = 15 * 60


class SignInRequired(Exception):
    """No valid console session: the visitor is sent to the sign-in page."""


class BadLink(Exception):
    """A forged, expired or already used console link."""


def may_use_console(person: Identity | None) -> bool:
    return person is not None and (person.is_seller or person.is_staff)


def console_link(session: Session, settings: Settings, handle: str | None = None) -> str:
    """A single-use sign-in link to the console for the seller (default) or a staff member."""
    person = identities.get(session, handle, "identity") if handle else identities.seller(session)
    if not may_use_console(person):
        raise UserError(
            f"identity: {person.handle!r} is neither the seller nor staff; invite them with `weishang staff add`"
        )
    token = Signer(store_secret(session)).sign("console-link", f"{person.id}:{secrets.token_urlsafe(16)}")
    return f"{settings.store_url}/console/signin?t={token}"


def redeem(session: Session, sign: Signer, token: str) -> tuple[Identity, str]:
    """Spend a console link: the person and a fresh session cookie value, or BadLink."""
    payload = sign.unsign("console-link", token, LINK_AGE)
    if payload is None or ":" not in payload:
        raise BadLink("this sign-in link is invalid or has expired; run `weishang console-link` for a new one")
    person_id, nonce = payload.split(":", 1)
    person = session.get(Identity, int(person_id)) if person_id.isdigit() else None
    if not may_use_console(person):
        raise BadLink("this sign-in link is not for the seller or their staff")
    try:
        with session.begin_nested():
            session.add(SpentToken(nonce=nonce[:64]))
    except IntegrityError:
        raise BadLink("this sign-in link has been used already; run `weishang console-link` for a new one") from None
    assert person is not None
    return person, sign.sign("console", f"{person.id}:{secrets.token_urlsafe(16)}")


def current(session: Session, sign: Signer, cookie: str | None) -> tuple[Identity, str]:
    """The signed-in seller or staff member and their CSRF token, or SignInRequired."""
    payload = sign.unsign("console", cookie, SESSION_AGE)
    if payload is None or ":" not in payload:
        raise SignInRequired
    person_id, nonce = payload.split(":", 1)
    person = session.get(Identity, int(person_id)) if person_id.isdigit() else None
    if not may_use_console(person):
        raise SignInRequired
    assert person is not None
    return person, sign.sign("console-csrf", nonce)


def check_csrf(sign: Signer, cookie: str | None, csrf: str | None) -> bool:
    payload = sign.unsign("console", cookie, SESSION_AGE)
    nonce = payload.split(":", 1)[1] if payload and ":" in payload else None
    return nonce is not None and sign.unsign("console-csrf", csrf, SESSION_AGE) == nonce
