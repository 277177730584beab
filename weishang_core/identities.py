"""People: who someone is rests on what they prove, never on the name they type.

A buyer at the store's checkout is a new person unless their own browser (its signed visitor cookie)
already is one; the name they type is their display name and nothing more. The seller's own people —
the seller, resellers and staff — also have a *handle*, unique among them, by which the seller names
them on the command line (``--as 勤妹子``). On the CLI the seller typing a name means that handle if
there is one; any other buyer name is a new buyer each time (docs/decisions.md).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import identifiers, locks
from weishang_core.errors import NotFound, UserError
from weishang_core.models import Identity, StoreSetting, VisitorPerson, utcnow
from weishang_core.validation import invisible


def check_handle(handle: str, field: str = "name") -> str:
    """A handle or display name is 1–64 printable characters with no surrounding spaces (Chinese welcome)."""
    if not isinstance(handle, str) or not handle.strip():
        raise UserError(f"{field}: must not be empty")
    handle = unicodedata.normalize("NFC", handle.strip())
    if len(handle) > 64:
        raise UserError(f"{field}: {handle[:20]!r}… is longer than 64 characters")
    if any(invisible(ch) for ch in handle):  # a name that reads as another's must not be one
        raise UserError(f"{field}: {handle!r} contains control or invisible characters")
    return handle


def find(session: Session, handle: str) -> Identity | None:
    """The seller's person with this handle (the seller, a reseller, staff), or None."""
    return session.scalar(select(Identity).where(Identity.handle == check_handle(handle)))


def get(session: Session, handle: str, field: str = "name") -> Identity:
    identity = find(session, handle)
    if identity is None:
        if matching(session, handle):
            raise NotFound(f"{field}: {handle!r} is not a reseller (only buyers are called that)")
        raise NotFound(f"{field}: nobody is called {handle!r}")
    return identity


def get_or_create(session: Session, handle: str) -> Identity:
    """The seller's person of this handle, made on first use (the seller naming their own people)."""
    identity = find(session, handle)
    if identity is None:
        name = check_handle(handle)
        identity = Identity(handle=name, display_name=name)
        session.add(identity)
        session.flush()
    return identity


def new_buyer(session: Session, name: str, contact: str | None = None, field: str = "buyer") -> Identity:
    """A new person, who gave this name and (unproven) contact."""
    person = Identity(handle=None, display_name=check_handle(name, field))
    session.add(person)
    session.flush()
    value = identifiers.classify(contact)
    if value is not None:
        identifiers.add(session, person, value, verified=False)
    return person


@dataclass(frozen=True)
class Guest:
    """A buyer at the store's checkout: a typed name and contact, and the browser they came with."""

    name: str
    contact: str | None = None
    visitor_id: str | None = None


def buyer_for(session: Session, buyer: Identity | Guest | str, contact: str | None = None) -> Identity:
    """Who an order is for: a known person, a store guest (see ``checkout``) or a name the seller typed."""
    if isinstance(buyer, Identity):
        return buyer
    if isinstance(buyer, Guest):
        return checkout(session, buyer)
    return named_by_seller(session, buyer, contact)


def named_by_seller(session: Session, name: str, contact: str | None = None) -> Identity:
    """The seller typed a buyer's name: one of their own people by handle, else a new buyer each time."""
    person = find(session, name)
    if person is not None and (person.is_seller or person.is_reseller or person.is_staff):
        return person
    return new_buyer(session, name, contact)


def checkout(session: Session, guest: Guest) -> Identity:
    """The person a store checkout is for: the one this browser already is, if they give the same name;
    else a new person. Never anyone found by the name or contact typed."""
    name = check_handle(guest.name, "buyer.name")
    if guest.visitor_id:
        link = session.get(VisitorPerson, guest.visitor_id)
        person = session.get(Identity, link.identity_id) if link else None
        if person is not None and name in (person.display_name, person.handle):
            return person
    person = new_buyer(session, name, guest.contact, "buyer.name")
    if guest.visitor_id:
        link_visitor(session, guest.visitor_id, person, replace=False)
    return person


def link_visitor(session: Session, visitor_id: str, person: Identity, replace: bool = True) -> None:
    """Remember who this browser is: the first checkout, or (replacing) whoever proves who they are on it."""
    link = session.get(VisitorPerson, visitor_id)
    if link is None:
        session.add(VisitorPerson(visitor_id=visitor_id, identity_id=person.id, linked_at=utcnow()))
    elif replace:
        link.identity_id, link.linked_at = person.id, utcnow()
    session.flush()


def matching(session: Session, name: str) -> list[int]:
    """Ids of the person with this handle, or else of every buyer of this display name (the seller's lists)."""
    person = find(session, name)
    if person is not None:
        return [person.id]
    name = check_handle(name, "buyer")
    return list(session.scalars(select(Identity.id).where(Identity.handle.is_(None), Identity.display_name == name)))


def unique_handle(session: Session, display_name: str) -> str:
    """A free handle from a display name: 張三, else 張三2, 張三3, …"""
    base = check_handle(display_name)[:60]
    taken = set(session.scalars(select(Identity.handle).where(Identity.handle.like(f"{_like(base)}%", escape="\\"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def give_handle(session: Session, person: Identity, handle: str | None = None) -> None:
    """Make someone nameable on the CLI: the handle asked for (refused if taken), else one from their name."""
    if person.handle:
        return
    if handle is None:
        person.handle = unique_handle(session, person.display_name)
    else:
        handle = check_handle(handle)
        if find(session, handle) is not None:
            raise UserError(f"name: {handle!r} is taken; choose another")
        person.handle = handle
    session.flush()


def vouch(session: Session, person: Identity, phone: str | None = None, email: str | None = None) -> None:
    """Identifiers the seller gives for one of their people: stored as verified (the seller vouches)."""
    if phone:
        identifiers.add(session, person, identifiers.parse(identifiers.PHONE, phone), verified=True)
    if email:
        identifiers.add(session, person, identifiers.parse(identifiers.EMAIL, email), verified=True)


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
    sponsor = get(session, sponsor_handle, "sponsor") if sponsor_handle is not None else None
    return make_reseller(session, get_or_create(session, handle), sponsor)


def make_reseller(session: Session, identity: Identity, sponsor: Identity | None) -> Identity:
    """Someone (with a handle) becomes a reseller under ``sponsor``, a reseller or the seller, or nobody."""
    locks.lock(session, identity)  # checked again under the lock: two at once make one reseller
    if identity.is_reseller:
        raise UserError(f"name: {identity.name!r} is already a reseller")
    if sponsor is not None:
        if sponsor.id == identity.id:
            raise UserError("sponsor: nobody can sponsor themselves")
        if not (sponsor.is_reseller or sponsor.is_seller):
            raise UserError(f"sponsor: {sponsor.name!r} is not a reseller")
        identity.sponsor_id = sponsor.id
        identity.depth = sponsor.depth + 1
    give_handle(session, identity)
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
