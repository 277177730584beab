"""People, named by a unique handle: the same name is the same person everywhere."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core.errors import NotFound, UserError
from weishang_core.models import Identity, StoreSetting, utcnow


def check_handle(handle: str, field: str = "name") -> str:
    """A handle is 1–64 printable characters with no surrounding spaces (Chinese names welcome)."""
    if not isinstance(handle, str) or not handle.strip():
        raise UserError(f"{field}: must not be empty")
    handle = unicodedata.normalize("NFC", handle.strip())
    if len(handle) > 64:
        raise UserError(f"{field}: {handle[:20]!r}… is longer than 64 characters")
    if not handle.isprintable() and any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in handle):
        raise UserError(f"{field}: {handle!r} contains control or invisible characters")
    return handle


def find(session: Session, handle: str) -> Identity | None:
    return session.scalar(select(Identity).where(Identity.handle == check_handle(handle)))


def get(session: Session, handle: str, field: str = "name") -> Identity:
    identity = find(session, handle)
    if identity is None:
        raise NotFound(f"{field}: nobody is called {handle!r}")
    return identity


def get_or_create(session: Session, handle: str, contact: str | None = None) -> Identity:
    identity = find(session, handle)
    if identity is None:
        identity = Identity(handle=check_handle(handle), contact=contact)
        session.add(identity)
        session.flush()
    elif contact and not identity.contact:
        identity.contact = contact
    return identity


def seller(session: Session) -> Identity:
    """The store's seller, named at ``weishang init --seller``."""
    setting = session.get(StoreSetting, "seller")
    if setting is None:
        raise UserError("no seller yet: run `weishang init --seller NAME` first")
    return get(session, setting.value)


def set_seller(session: Session, handle: str) -> Identity:
    identity = get_or_create(session, handle)
    identity.is_seller = True
    setting = session.get(StoreSetting, "seller")
    if setting is None:
        session.add(StoreSetting(key="seller", value=identity.handle))
    elif setting.value != identity.handle:
        raise UserError(f"seller: this store's seller is already {setting.value!r}; one store has one seller")
    return identity


def add_reseller(session: Session, handle: str, sponsor_handle: str | None = None) -> Identity:
    """Make someone a reseller, under a sponsor who must already be a reseller (or the seller)."""
    identity = get_or_create(session, handle)
    if identity.is_reseller:
        raise UserError(f"name: {identity.handle!r} is already a reseller")
    if sponsor_handle is not None:
        sponsor = get(session, sponsor_handle, "sponsor")
        if sponsor.id == identity.id:
            raise UserError("sponsor: nobody can sponsor themselves")
        if not (sponsor.is_reseller or sponsor.is_seller):
            raise UserError(f"sponsor: {sponsor.handle!r} is not a reseller")
        identity.sponsor_id = sponsor.id
        identity.depth = sponsor.depth + 1
    identity.is_reseller = True
    identity.reseller_since = utcnow()
    session.flush()
    return identity


def list_resellers(session: Session) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.is_reseller).order_by(Identity.id)))


def set_staff(session: Session, handle: str, on: bool) -> Identity:
    """Invite someone to the seller's console (or take them off it); the seller always has it."""
    person = get_or_create(session, handle) if on else get(session, handle, "name")
    if person.is_seller:
        raise UserError(f"name: {person.handle!r} is the seller, who always has the console")
    person.is_staff = on
    return person


def list_staff(session: Session) -> list[Identity]:
    return list(session.scalars(select(Identity).where(Identity.is_staff.is_(True)).order_by(Identity.handle)))
