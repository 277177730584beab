"""Who may use the seller's console, and how they prove it.

The seller (and the staff they invite with ``weishang staff add``) sign in with a link from
``weishang console-link``: signed, expiring after 15 minutes, and single use — its nonce is written to
``spent_tokens`` when it is used, so a link seen twice (a shared screen, a forwarded chat) fails the
second time. The session is kept on the server (``weishang_core.sessions``, purpose ``console``): the
HttpOnly, SameSite=Lax cookie (Lax, so the browser still sends it when an outlet's OAuth page sends the
seller back) carries its random token, signing out ends it, and the seller can end anyone's with
``weishang sessions end``. Every form carries a CSRF token signed for that session. Each request re-reads
the person, so a staff member removed from staff is out at their next click (``staff remove`` also ends
their console sessions). A reseller's store session has another purpose and never opens the console.
"""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weishang_core import identities, sessions
from weishang_core.config import Settings
from weishang_core.errors import UserError
from weishang_core.models import Identity, SpentToken
from weishang_webstore.errors import BadLink, SignInRequired
from weishang_webstore.signing import Signer, store_secret

COOKIE = "ws_console"
SESSION_AGE = 12 * 3600
LINK_AGE = 15 * 60


__all__ = ["BadLink", "SignInRequired", "check_csrf", "console_link", "current", "redeem", "spend"]


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


def redeem(session: Session, sign: Signer, token: str, user_agent: str | None = None) -> tuple[Identity, str]:
    """Spend a console link: the person and a fresh session's cookie value, or BadLink."""
    payload = sign.unsign("console-link", token, LINK_AGE)
    if payload is None or ":" not in payload:
        raise BadLink("this sign-in link is invalid or has expired; run `weishang console-link` for a new one")
    person_id, nonce = payload.split(":", 1)
    person = session.get(Identity, int(person_id)) if person_id.isdigit() else None
    if not may_use_console(person):
        raise BadLink("this sign-in link is not for the seller or their staff")
    if not spend(session, nonce):
        raise BadLink("this sign-in link has been used already; run `weishang console-link` for a new one")
    assert person is not None
    _, cookie = sessions.start(session, person, sessions.CONSOLE, user_agent)
    return person, cookie


def spend(session: Session, nonce: str) -> bool:
    """Use a single-use link's nonce: True the first time, False ever after (also across processes)."""
    try:
        with session.begin_nested():
            session.add(SpentToken(nonce=nonce[:64]))
    except IntegrityError:
        return False
    return True


def current(session: Session, sign: Signer, cookie: str | None) -> tuple[Identity, str]:
    """The signed-in seller or staff member and their CSRF token, or SignInRequired."""
    row = sessions.current(session, cookie, sessions.CONSOLE)
    person = session.get(Identity, row.identity_id) if row is not None else None
    if row is None or not may_use_console(person):
        raise SignInRequired
    assert person is not None
    return person, sign.sign("console-csrf", str(row.id))


def check_csrf(session: Session, sign: Signer, cookie: str | None, csrf: str | None) -> bool:
    row = sessions.current(session, cookie, sessions.CONSOLE)
    return row is not None and sign.unsign("console-csrf", csrf, SESSION_AGE) == str(row.id)
