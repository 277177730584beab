"""Referral links, clicks, attribution and the sponsor tree.

Attribution is an explicit rule (``Settings.attribution_rule``): the last counted click wins (default) or
the first; a binding cannot be taken over during its protection period and lapses after the validity
window. Every order stores the rule and the click that decided it.

The sponsor tree is an adjacency list: commissions need at most three ancestors, which
:func:`ancestors` fetches with a fixed number of self-joins in one query however deep the tree is; the
rare whole-chain questions (cycles, downline size) use one recursive CTE.
"""

from __future__ import annotations

import bisect
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session, aliased

from weishang_core import bulk, identifiers, identities, locks
from weishang_core.config import Settings
from weishang_core.errors import NotFound, UserError
from weishang_core.events import emit_after_commit
from weishang_core.models import (
    AuditEntry,
    Binding,
    Click,
    Identity,
    Order,
    Product,
    ReferralLink,
    VisitorPerson,
    utcnow,
)
from weishang_core.statuses import DELIVERED_ORDER

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: codes get read aloud and retyped
CODE_LENGTH = 8  # 31^8 ≈ 8.5e11 codes: not guessable by trying
BURST_SECONDS = 60


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def link_url(settings: Settings, code: str) -> str:
    return f"{settings.store_url}/r/{code}"


def create_link(session: Session, reseller: Identity, product: Product | None = None) -> ReferralLink:
    """A new link for a reseller (or the seller, who tracks clicks but earns no commission)."""
    if not (reseller.is_reseller or reseller.is_seller):
        raise UserError(f"reseller: {reseller.name!r} is not a reseller")
    link = ReferralLink(code=new_code(), reseller_id=reseller.id, product_id=product.id if product else None)
    session.add(link)
    session.flush()
    return link


def link_for(session: Session, reseller: Identity, product: Product | None) -> ReferralLink:
    """The poster's existing link for this product (or store-wide), made on first use."""
    query = select(ReferralLink).where(ReferralLink.reseller_id == reseller.id)
    query = query.where(ReferralLink.product_id == product.id if product else ReferralLink.product_id.is_(None))
    link = session.scalar(query.order_by(ReferralLink.id).limit(1))
    return link or create_link(session, reseller, product)


def find_link(session: Session, code: str) -> ReferralLink | None:
    if not isinstance(code, str) or len(code) > 32:
        return None
    return session.scalar(select(ReferralLink).where(ReferralLink.code == code.strip().upper()))


def get_link(session: Session, code: str) -> ReferralLink:
    link = find_link(session, code)
    if link is None:
        raise NotFound(f"ref: no referral link {code!r}")
    return link


def fingerprint(value: str | None) -> str | None:
    """IPs and user agents are kept only as hashes: enough to spot click spam, useless to anyone else."""
    return hashlib.sha256(value.encode()).hexdigest()[:32] if value else None


@dataclass(frozen=True)
class NewClick:
    """A click to record: on which link, by which visitor, from where, when."""

    link: ReferralLink
    visitor_id: str
    outlet: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    at: datetime | None = None


def record_click(
    session: Session,
    settings: Settings,
    link: ReferralLink,
    visitor_id: str,
    outlet: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> Click:
    """Store a click; a repeat by the same visitor on the same link within a minute is not counted."""
    if not visitor_id or len(visitor_id) > 64:
        raise UserError("visitor: a visitor id of 1-64 characters is required")
    [click_id] = record_clicks(session, settings, [NewClick(link, visitor_id, outlet, ip, user_agent, now or utcnow())])
    return session.get_one(Click, click_id)


def record_clicks(session: Session, settings: Settings, clicks: list[NewClick]) -> list[int]:
    """Store many clicks in a few statements (the web store's batches); their ids, in order.

    The rules are the single click's, applied in the order the clicks happened. A repeat by the same
    visitor on the same link within ``BURST_SECONDS`` of their last counted click is stored but not
    counted and does not touch attribution. An IP address counts at most ``clicks_per_address`` clicks on
    a link in any such window, whatever user agents it sends; past that a click is click spam: stored,
    not counted. It still binds its visitor: the cookie, not the address, attributes a buyer, and real
    phones share addresses (docs/decisions.md). Clicks without a valid visitor id are skipped.
    """
    clicks = sorted((c for c in clicks if c.visitor_id and len(c.visitor_id) <= 64), key=lambda c: c.at or utcnow())
    if not clicks:
        return []
    burst = timedelta(seconds=BURST_SECONDS)
    visitors = sorted({c.visitor_id for c in clicks})
    last_counted: dict[tuple[str, int], datetime] = {}
    since = min(c.at or utcnow() for c in clicks) - burst
    by_visitor = (
        select(Click.visitor_id, Click.link_id, func.max(Click.created_at))
        .where(Click.counted.is_(True), Click.created_at > since)
        .group_by(Click.visitor_id, Click.link_id)
    )
    for visitor, link_id, at in bulk.rows_among(session, by_visitor, Click.visitor_id, visitors):
        last_counted[(visitor, link_id)] = at
    hashes = [(fingerprint(c.ip), fingerprint(c.user_agent)) for c in clicks]
    addresses = _AddressWindows(session, sorted({ip for ip, _ in hashes if ip}), since, settings.clicks_per_address)
    rows: list[dict[str, Any]] = []
    fresh_visits: list[bool] = []
    for click, (ip_hash, ua_hash) in zip(clicks, hashes, strict=True):
        at = click.at or utcnow()
        previous = last_counted.get((click.visitor_id, click.link.id))
        fresh = previous is None or previous <= at - burst
        counted = fresh and (ip_hash is None or addresses.admit((click.link.id, ip_hash), at))
        if counted:
            last_counted[(click.visitor_id, click.link.id)] = at
        fresh_visits.append(fresh)
        rows.append(
            {
                "link_id": click.link.id,
                "visitor_id": click.visitor_id,
                "outlet": (click.outlet or None) and click.outlet[:64],
                "ip_hash": ip_hash,
                "ua_hash": ua_hash,
                "counted": counted,
                "created_at": at,
            }
        )
    session.flush()  # what the session holds goes first: the rows below are written past it
    ids = bulk.reserve_ids(session, Click.__table__, len(rows))
    for row, click_id in zip(rows, ids, strict=True):
        row["id"] = click_id
    bulk.write_rows(session, Click.__table__, rows)
    binding_visitors = sorted({c.visitor_id for c, fresh in zip(clicks, fresh_visits, strict=True) if fresh})
    bindings: dict[str, Binding] = {
        b.visitor_id: b for (b,) in bulk.rows_among(session, select(Binding), Binding.visitor_id, binding_visitors)
    }
    new_bindings: list[Binding] = []
    for click, row, fresh in zip(clicks, rows, fresh_visits, strict=True):
        if fresh:
            binding = apply_rule(bindings.get(click.visitor_id), settings, click.visitor_id, click.link.reseller_id,
                                 row["id"], row["created_at"])  # fmt: skip
            if click.visitor_id not in bindings:
                bindings[click.visitor_id] = binding
                new_bindings.append(binding)
        if row["counted"]:
            emit_after_commit(
                session,
                "referral_clicked",
                link_code=click.link.code,
                visitor_id=click.visitor_id,
                outlet=row["outlet"],
            )
    session.flush()  # bindings that were already there and changed
    # New visitors' bindings, built by the rule but written as rows: a viral burst is mostly new phones.
    bulk.write_rows(session, Binding.__table__, [
        {"visitor_id": b.visitor_id, "referrer_id": b.referrer_id, "click_id": b.click_id, "bound_at": b.bound_at,
         "protected_until": b.protected_until, "expires_at": b.expires_at}
        for b in new_bindings
    ])  # fmt: skip
    return ids


class _AddressWindows:
    """The counted clicks of each (link, IP address) in the last ``BURST_SECONDS``, for the click-spam rule.

    Loaded once for a batch (at most ``most`` a window per address, so few rows however many clicks were
    refused); the batch's clicks are then admitted in time order, so a time that left the window stays out.
    """

    def __init__(self, session: Session, ip_hashes: list[str], since: datetime, most: int) -> None:
        self.most = most
        self.times: dict[tuple[int, str], list[datetime]] = {}
        query = select(Click.link_id, Click.ip_hash, Click.created_at).where(
            Click.counted.is_(True), Click.created_at > since
        )
        for link_id, ip_hash, at in bulk.rows_among(session, query, Click.ip_hash, ip_hashes):
            self.times.setdefault((link_id, ip_hash), []).append(at)
        for found in self.times.values():
            found.sort()

    def admit(self, address: tuple[int, str], at: datetime) -> bool:
        """Whether the address may count one more click at ``at``; if so, it is counted."""
        window = self.times.setdefault(address, [])
        while window and window[0] <= at - timedelta(seconds=BURST_SECONDS):
            window.pop(0)
        if len(window) >= self.most:
            return False
        bisect.insort(window, at)
        return True


def bind(
    session: Session,
    settings: Settings,
    visitor_id: str,
    referrer_id: int,
    click_id: int | None,
    now: datetime,
) -> Binding:
    """Apply the attribution rule to a visitor's binding."""
    existing = session.scalar(select(Binding).where(Binding.visitor_id == visitor_id))
    binding = apply_rule(existing, settings, visitor_id, referrer_id, click_id, now)
    if existing is None:
        session.add(binding)
    session.flush()
    return binding


def apply_rule(
    binding: Binding | None, settings: Settings, visitor_id: str, referrer_id: int, click_id: int | None, now: datetime
) -> Binding:
    """The attribution rule itself, on one binding (a new one when the visitor has none); writes nothing."""
    protected = timedelta(days=settings.protection_days)
    valid = timedelta(days=settings.attribution_days)
    if binding is None:
        binding = Binding(visitor_id=visitor_id, referrer_id=referrer_id, click_id=click_id)
    else:
        lapsed = binding.expires_at is not None and binding.expires_at <= now
        in_protection = binding.protected_until is not None and binding.protected_until > now
        same = binding.referrer_id == referrer_id
        take_over = lapsed or (settings.attribution_rule == "last-click" and not in_protection)
        if not (take_over or same):
            return binding
        if same and not lapsed and settings.attribution_rule == "first-click":
            binding.expires_at = now + valid  # the first referrer's claim is renewed by their own click
            return binding
        binding.referrer_id = referrer_id
        binding.click_id = click_id
    binding.bound_at = now
    binding.protected_until = now + protected if protected else None
    binding.expires_at = now + valid
    return binding


@dataclass(frozen=True)
class Attribution:
    referrer: Identity | None
    rule: str | None
    click_id: int | None
    blocked: str | None = None  # why the referrer earns nothing on this order (self-referral)


def attribute(
    session: Session,
    settings: Settings,
    buyer: Identity,
    ref_code: str | None,
    visitor_id: str | None,
    now: datetime,
    contact: str | None = None,
) -> Attribution:
    """Decide who referred an order: an explicit code, else the visitor's binding, else the buyer's."""
    referrer: Identity | None = None
    rule: str | None = None
    click_id: int | None = None
    if ref_code:
        link = get_link(session, ref_code)
        referrer, rule = session.get(Identity, link.reseller_id), "ref-code"
        if visitor_id:
            click_id = session.scalar(
                select(Click.id)
                .where(Click.visitor_id == visitor_id, Click.link_id == link.id)
                .order_by(Click.id.desc())
                .limit(1)
            )
    else:
        binding = None
        if visitor_id:
            binding = session.scalar(select(Binding).where(Binding.visitor_id == visitor_id))
        if binding is None:
            binding = session.scalar(
                select(Binding).where(Binding.buyer_id == buyer.id).order_by(Binding.bound_at.desc()).limit(1)
            )
        if binding is not None and binding_valid(binding, now):
            referrer, rule, click_id = (
                session.get(Identity, binding.referrer_id),
                settings.attribution_rule,
                (binding.click_id),
            )
            if binding.buyer_id is None:
                binding.buyer_id = buyer.id
    if referrer is None:
        return Attribution(None, None, None)
    return Attribution(referrer, rule, click_id, self_referral(session, buyer, referrer, visitor_id, contact))


def binding_valid(binding: Binding, at: datetime) -> bool:
    """A binding attributes orders until it lapses."""
    return binding.expires_at is None or binding.expires_at > at


def same_person(buyer_id: int, buyer_contact: str | None, referrer: Identity, referrer_values: set[str]) -> str | None:
    """Why the buyer is the referrer themselves (the same identity, or one of the referrer's identifiers as
    the order's contact), or None. Typed data may only ever take a commission away, never give one."""
    if referrer.id == buyer_id:
        return "self-referral: the buyer is the referrer"
    typed = identifiers.classify(buyer_contact)
    if typed is not None and typed.value in referrer_values:
        return "self-referral: the buyer has the referrer's contact"
    return None


def self_referral(
    session: Session, buyer: Identity, referrer: Identity, visitor_id: str | None, contact: str | None = None
) -> str | None:
    """Nobody earns on their own purchase: same person, same contact, or the referrer's own browser."""
    reason = same_person(buyer.id, contact, referrer, identifiers.values_of(session, [referrer.id])[referrer.id])
    if reason:
        return reason
    if visitor_id:
        own = session.scalar(
            select(Binding.id).where(Binding.visitor_id == visitor_id, Binding.buyer_id == referrer.id).limit(1)
        )
        if own is not None:
            return "self-referral: the order came from the referrer's own browser"
        linked = session.get(VisitorPerson, visitor_id)
        if linked is not None and linked.identity_id == referrer.id:
            return "self-referral: the order came from the referrer's own browser"
    return None


def ancestors(session: Session, identity_id: int, levels: int) -> list[Identity]:
    """The sponsor chain above someone, nearest first, at most ``levels`` long, in one query."""
    if levels <= 0:
        return []
    people = [aliased(Identity) for _ in range(levels + 1)]
    # The person's own id comes first so the row always has a non-NULL column: with one level and no
    # sponsor, a row of one NULL entity is "no row" to SQLAlchemy 2.1's .one().
    query = select(people[0].id, *people[1:])
    for child, parent in zip(people, people[1:], strict=False):
        query = query.outerjoin(parent, child.sponsor_id == parent.id)
    row = session.execute(query.where(people[0].id == identity_id)).one()
    return [person for person in row[1:] if person is not None]


def chain_ids(session: Session, identity_id: int) -> list[int]:
    """Every ancestor id, by one recursive query (for cycle checks, not on any hot path)."""
    start = select(Identity.sponsor_id.label("id"), literal(1).label("n")).where(Identity.id == identity_id)
    chain = start.cte("chain", recursive=True)
    chain = chain.union_all(
        select(Identity.sponsor_id, chain.c.n + 1).join(chain, Identity.id == chain.c.id).where(chain.c.n < 100_000)
    )
    return [i for i in session.scalars(select(chain.c.id)) if i is not None]


def downline_size(session: Session, identity_id: int) -> int:
    tree = select(Identity.id).where(Identity.sponsor_id == identity_id).cte("tree", recursive=True)
    tree = tree.union_all(select(Identity.id).join(tree, Identity.sponsor_id == tree.c.id))
    return session.scalar(select(func.count()).select_from(tree)) or 0


def change_sponsor(session: Session, person: Identity, sponsor: Identity | None, actor: str) -> None:
    """Move someone under another sponsor: refused if it would make a cycle; written to the audit log."""
    if sponsor is not None:
        if sponsor.id == person.id or person.id in chain_ids(session, sponsor.id):
            raise UserError(f"sponsor: {sponsor.handle!r} is in {person.handle!r}'s downline; that makes a cycle")
        if not (sponsor.is_reseller or sponsor.is_seller):
            raise UserError(f"sponsor: {sponsor.handle!r} is not a reseller")
    old = person.sponsor.handle if person.sponsor else None
    shift = (sponsor.depth + 1 if sponsor else 0) - person.depth
    person.sponsor_id = sponsor.id if sponsor else None
    if shift:
        tree = select(Identity.id).where(Identity.sponsor_id == person.id).cte("tree", recursive=True)
        tree = tree.union_all(select(Identity.id).join(tree, Identity.sponsor_id == tree.c.id))
        session.execute(update(Identity).where(Identity.id.in_(select(tree.c.id))).values(depth=Identity.depth + shift))
        person.depth += shift
    session.add(
        AuditEntry(
            actor=actor,
            action="change-sponsor",
            detail={"person": person.handle, "from": old, "to": sponsor.handle if sponsor else None},
        )
    )
    session.flush()


def qualifies(order: Order) -> bool:
    """A purchase that makes its buyer a reseller: delivered (or completed), not fully refunded."""
    return order.status in DELIVERED_ORDER and order.refunded_fen < order.paid_fen


def first_qualifying(session: Session, buyer: Identity) -> Order | None:
    return session.scalar(
        select(Order)
        .where(Order.buyer_id == buyer.id, Order.status.in_(DELIVERED_ORDER))
        .where(Order.refunded_fen < Order.paid_fen)
        .order_by(Order.id)
        .limit(1)
    )


def become_reseller(session: Session, purchase: Order, handle: str | None = None) -> Identity:
    """The buyer of a delivered, not fully refunded purchase becomes a reseller under its referrer.

    The purchase is the proof: the store only calls this with the order its own signed token names, so
    a buyer becomes a reseller through an order of their own that qualifies, never through a name.
    ``handle`` is the seller's choice on the CLI; otherwise one is made from the buyer's display name.
    """
    buyer = locks.lock(session, session.get_one(Identity, purchase.buyer_id))  # N taps at once: one reseller
    if buyer.is_reseller:
        raise UserError(f"name: {buyer.name!r} is already a reseller")
    if not qualifies(purchase):
        raise UserError(
            f"order: order {purchase.id} is {purchase.status}"
            + (" and refunded" if purchase.status in DELIVERED_ORDER else "")
            + "; resellers are buyers who liked what they got, once it is delivered"
        )
    referrer = session.get(Identity, purchase.referrer_id) if purchase.referrer_id else None
    if referrer is None or not (referrer.is_reseller or referrer.is_seller) or referrer.id == buyer.id:
        referrer = identities.seller(session)
    identities.give_handle(session, buyer, handle)
    return identities.make_reseller(session, buyer, referrer)
