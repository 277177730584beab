"""Importing paid orders in bulk: orders a seller took by hand in WeChat groups, or another shop's export.

Every row meets the rules one order meets — quantity, product on sale, stock, attribution by referral
code or else the buyer's binding, self-referral, commissions through ``ledger.shares`` — but the file is
written set-based, a few statements per thousands of rows instead of a transaction per order, and in one
transaction: every row or none. Each row carries the seller's own order number (``key``); rows whose key
was imported before are skipped, so a file can be imported again after a failure or with rows appended.
Release dates use each beneficiary's trust score as of the import. Products in a live campaign are
refused: a pre-order comes out of the campaign's cap, one order at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import bulk, campaigns, catalog, identifiers, identities, ledger, referrals, trust
from weishang_core.clock import parse_when
from weishang_core.config import Settings
from weishang_core.csv_input import read_rows
from weishang_core.errors import UserError
from weishang_core.events import emit_after_commit, heard
from weishang_core.models import (
    Binding,
    Identifier,
    Identity,
    LedgerEntry,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    ReferralLink,
)
from weishang_core.orders import check_contact, check_qty, reserve_stock
from weishang_core.statuses import OrderStatus, ProductStatus

REQUIRED = ("key", "sku", "qty", "buyer")
OPTIONAL = ("contact", "ref", "paid_at", "delivered_at")
KEY_PREFIX = "import:"  # kept in the order's idempotency key, apart from the store's own keys
CHUNK = 5_000


@dataclass(frozen=True)
class Row:
    """One order of the file, checked field by field."""

    number: int
    key: str
    sku: str
    qty: int
    buyer: str
    contact: str | None
    ref: str | None
    paid_at: datetime
    delivered_at: datetime | None


@dataclass
class Imported:
    orders: int = 0
    skipped: int = 0  # rows whose key was imported before
    total_fen: int = 0
    commissions_fen: int = 0


@dataclass(frozen=True)
class _Buyer:
    id: int
    contact: str | None


def read_csv(path: str, settings: Settings, now: datetime) -> list[Row]:
    """Every row checked, or a ``UserError`` naming the file, the row and the field."""
    rows: list[Row] = []
    seen: set[str] = set()
    times: dict[tuple[str, str], datetime] = {}  # files repeat the same few times: parse each once
    for number, cells in read_rows(path, REQUIRED, OPTIONAL):
        try:
            rows.append(_row(number, cells, settings, now, seen, times))
        except UserError as exc:
            raise UserError(f"{path}: row {number}: {exc}") from None
    return rows


def _when(text: str, field: str, settings: Settings, times: dict[tuple[str, str], datetime]) -> datetime:
    if (text, field) not in times:
        times[text, field] = parse_when(text, settings.tz, field)
    return times[text, field]


def _row(
    number: int,
    cells: dict[str, str],
    settings: Settings,
    now: datetime,
    seen: set[str],
    times: dict[tuple[str, str], datetime],
) -> Row:
    key = cells["key"]
    if not key or len(key) > 100 or not key.isprintable():
        raise UserError(f"key: {key[:20]!r} must be 1-100 printable characters (your own order number)")
    if key in seen:
        raise UserError(f"key: {key!r} appears twice in the file")
    seen.add(key)
    contact = cells.get("contact") or None
    check_contact(contact)
    ref = cells.get("ref") or None
    if ref is not None and len(ref) > 32:
        raise UserError(f"ref: {ref[:20]!r}… is not a referral code")
    paid_at = _when(cells["paid_at"], "paid_at", settings, times) if cells.get("paid_at") else now
    if paid_at > now:
        raise UserError(f"paid_at: {cells['paid_at']!r} is in the future")
    delivered_at = None
    if cells.get("delivered_at"):
        delivered_at = _when(cells["delivered_at"], "delivered_at", settings, times)
        if not paid_at <= delivered_at <= now:
            raise UserError(f"delivered_at: {cells['delivered_at']!r} must be between paid_at and now")
    return Row(
        number=number,
        key=key,
        sku=catalog.check_sku(cells["sku"]),
        qty=check_qty(cells["qty"]),
        buyer=identities.check_handle(cells["buyer"], "buyer"),
        contact=contact,
        ref=ref.upper() if ref else None,
        paid_at=paid_at,
        delivered_at=delivered_at,
    )


@dataclass(frozen=True)
class _Earned:
    """A share as plain values: written 100,000s of times, so no ORM attribute access per row."""

    beneficiary_id: int
    handle: str | None
    level: int
    amount: int


@dataclass
class _Plan:
    """What every row of the file is checked against and written with, looked up once."""

    settings: Settings
    prices: dict[str, int]  # sku -> unit price in fen
    product_ids: dict[str, int]
    buyers: dict[str, _Buyer]
    referrer_of: dict[int, tuple[int, int | None]]  # row number -> (referrer id, deciding click)
    people: dict[int, Identity]
    referrer_values: dict[int, set[str]]  # every identifier value of each referrer, for self-referral
    chains: dict[int, list[Identity]]
    in_chain: dict[int, set[int]]
    rules: dict[str, list]
    earned: dict[tuple, list[_Earned]]  # shares depend on the buyer only when the buyer is in the chain


def import_orders(
    session: Session,
    settings: Settings,
    rows: list[Row],
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Imported:
    """Write the rows as paid (or delivered) orders with their commissions; ``progress`` hears rows done."""
    keys = [KEY_PREFIX + r.key for r in rows]
    done = {key for (key,) in bulk.rows_among(session, select(Order.idempotency_key), Order.idempotency_key, keys)}
    todo = [r for r in rows if KEY_PREFIX + r.key not in done]
    result = Imported(skipped=len(rows) - len(todo))
    if progress and result.skipped:
        progress(result.skipped)
    if not todo:
        return result
    products = _products(session, todo)
    buyers = _buyers(session, todo)
    referrer_of = _attribution(session, settings, todo, buyers)
    people = {
        p.id: p for p in session.scalars(select(Identity).where(Identity.id.in_({r for r, _ in referrer_of.values()})))
    }
    referrer_values = identifiers.values_of(session, list(people))
    chains = {
        person.id: [person, *referrals.ancestors(session, person.id, settings.max_commission_levels - 1)]
        for person in people.values()
    }
    plan = _Plan(
        settings=settings,
        prices={sku: p.price_fen for sku, p in products.items()},
        product_ids={sku: p.id for sku, p in products.items()},
        buyers=buyers,
        referrer_of=referrer_of,
        people=people,
        referrer_values=referrer_values,
        chains=chains,
        in_chain={referrer: {p.id for p in chain} for referrer, chain in chains.items()},
        rules={sku: ledger.rule_for(session, settings, product) for sku, product in products.items()},
        earned={},
    )
    pending: list[tuple[Row, int, int, list[_Earned]]] = []  # row, order id, line id, shares
    for chunk in _row_chunks(todo):
        pending.extend(_write_orders(session, plan, chunk))
        if progress:
            progress(len(chunk) // 2)  # half a row's work is its order, half its commissions
    beneficiaries = {e.beneficiary_id for *_, earned in pending for e in earned}
    holds = {  # each beneficiary's return window plus trust hold, scored once the orders are in
        person_id: timedelta(days=settings.return_days + trust.score(session, person, now).extra_hold_days)
        for person_id in beneficiaries
        if (person := session.get_one(Identity, person_id))
    }
    for start in range(0, len(pending), CHUNK):
        part = pending[start : start + CHUNK]
        _write_commissions(session, part, holds)
        if progress:
            progress(len(part) - len(part) // 2)
    result.orders = len(todo)
    result.total_fen = sum(r.qty * plan.prices[r.sku] for r in todo)
    result.commissions_fen = sum(e.amount for *_, earned in pending for e in earned)
    return result


def _row_chunks(rows: list[Row]) -> Iterator[list[Row]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _fail(row: Row, message: str) -> UserError:
    return UserError(f"row {row.number}: {message}")


def _products(session: Session, rows: list[Row]) -> dict[str, Product]:
    """The rows' products, each on sale and outside a campaign, with the file's units taken from stock."""
    found = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_({r.sku for r in rows})))}
    for row in rows:
        product = found.get(row.sku)
        if product is None:
            raise _fail(row, f"sku: no product {row.sku}")
        if product.status != ProductStatus.ACTIVE:
            raise _fail(row, f"sku: {row.sku} is withdrawn from sale")
    for sku, product in found.items():
        if campaigns.live_for(session, product) is not None:
            raise UserError(f"sku: {sku} is in a live campaign; pre-orders are placed one by one")
    for sku, qty in _units(rows).items():
        try:
            reserve_stock(session, found[sku], qty)
        except UserError:
            raise UserError(f"qty: only {found[sku].stock} of {sku} left, the file asks for {qty}") from None
    return found


def _units(rows: list[Row]) -> Counter[str]:
    units: Counter[str] = Counter()
    for row in rows:
        units[row.sku] += row.qty
    return units


def _buyers(session: Session, rows: list[Row]) -> dict[str, _Buyer]:
    """Each buyer by name, as ``order create --buyer`` finds them: the seller's own people by handle, any
    other name a new buyer (one per name in the file), whose first contact is their unproven identifier."""
    contact_of: dict[str, str | None] = {}
    for row in rows:
        if contact_of.get(row.buyer) is None:
            contact_of[row.buyer] = row.contact
    query = select(Identity.handle, Identity.id).where(Identity.is_seller | Identity.is_reseller | Identity.is_staff)
    known = {h: _Buyer(id_, None) for h, id_ in bulk.rows_among(session, query, Identity.handle, list(contact_of))}
    new = [h for h in contact_of if h not in known]
    ids = bulk.reserve_ids(session, Identity.__table__, len(new))
    bulk.write_rows(
        session,
        Identity.__table__,
        [{"id": id_, "handle": None, "display_name": h} for h, id_ in zip(new, ids, strict=True)],
    )
    typed = [(id_, identifiers.classify(contact_of[h])) for h, id_ in zip(new, ids, strict=True)]
    bulk.write_rows(
        session,
        Identifier.__table__,
        [{"identity_id": id_, "kind": v.kind, "scope": v.scope, "value": v.value, "verified": False}
         for id_, v in typed if v is not None],
    )  # fmt: skip
    known.update((h, _Buyer(id_, contact_of[h])) for h, id_ in zip(new, ids, strict=True))
    return known


def _attribution(
    session: Session, settings: Settings, rows: list[Row], buyers: dict[str, _Buyer]
) -> dict[int, tuple[int, int | None]]:
    """Row number -> (referrer id, deciding click): the row's referral code, else the buyer's latest valid binding."""
    codes = {r.ref for r in rows if r.ref}
    query = select(ReferralLink.code, ReferralLink.reseller_id)
    link_owner = dict(bulk.rows_among(session, query, ReferralLink.code, sorted(codes)))
    without_ref = sorted({buyers[r.buyer].id for r in rows if not r.ref})
    bound = bulk.rows_among(session, select(Binding).order_by(Binding.bound_at), Binding.buyer_id, without_ref)
    bindings = {binding.buyer_id: binding for (binding,) in bound}  # the latest wins
    referrer_of: dict[int, tuple[int, int | None]] = {}
    for row in rows:
        if row.ref:
            if row.ref not in link_owner:
                raise _fail(row, f"ref: no referral link {row.ref!r}")
            referrer_of[row.number] = (link_owner[row.ref], None)
        elif (binding := bindings.get(buyers[row.buyer].id)) and referrals.binding_valid(binding, row.paid_at):
            referrer_of[row.number] = (binding.referrer_id, binding.click_id)
    return referrer_of


def _write_orders(session: Session, plan: _Plan, rows: list[Row]) -> list[tuple[Row, int, int, list[_Earned]]]:
    """One chunk's orders, lines and history in three statements; what each line earns whom."""
    orders, lines, history, written = [], [], [], []
    tell = heard("order_paid")
    order_ids = bulk.reserve_ids(session, Order.__table__, len(rows))
    line_ids = bulk.reserve_ids(session, OrderLine.__table__, len(rows))
    for row, order_id, line_id in zip(rows, order_ids, line_ids, strict=True):
        buyer, price = plan.buyers[row.buyer], plan.prices[row.sku]
        total = row.qty * price
        referrer_id, click_id = plan.referrer_of.get(row.number, (-1, None))
        referrer = plan.people.get(referrer_id)
        note = (
            referrals.same_person(buyer.id, row.contact, referrer, plan.referrer_values[referrer.id])
            if referrer
            else None
        )
        rule = (plan.settings.attribution_rule if not row.ref else "ref-code") if referrer else None
        status = OrderStatus.DELIVERED if row.delivered_at else OrderStatus.PAID
        orders.append(
            {"id": order_id, "buyer_id": buyer.id, "status": status,
             "total_fen": total, "paid_fen": total, "refunded_fen": 0, "contact": row.contact,
             "referrer_id": referrer_id if referrer else None, "attribution_rule": rule,
             "attribution_click_id": click_id if referrer else None, "attribution_note": note,
             "idempotency_key": KEY_PREFIX + row.key, "created_at": row.paid_at, "paid_at": row.paid_at,
             "shipped_at": row.delivered_at, "delivered_at": row.delivered_at}
        )  # fmt: skip
        lines.append(
            {"id": line_id, "order_id": order_id, "product_id": plan.product_ids[row.sku], "qty": row.qty,
             "unit_price_fen": price, "refunded_fen": 0}
        )  # fmt: skip
        handle = referrer.handle if referrer else None
        decided = note or (f"referred by {handle} ({rule})" if referrer else "no referrer")
        history.append(  # one event says it all: the order's own columns keep when it was paid and delivered
            {"order_id": order_id, "kind": "imported", "amount_fen": total, "qty": row.qty, "created_at": row.paid_at,
             "reason": f"imported as {row.key!r}, {'delivered' if row.delivered_at else 'paid'}; {decided}"}
        )  # fmt: skip
        earned = _earned(plan, referrer_id, row, buyer.id) if referrer and note is None else []
        written.append((row, order_id, line_id, earned))
        if tell:
            emit_after_commit(session, "order_paid", order_id=order_id, total=total, referrer=handle)
    bulk.write_rows(session, Order.__table__, orders)
    bulk.write_rows(session, OrderLine.__table__, lines)
    bulk.write_rows(session, OrderEvent.__table__, history)
    return written


def _earned(plan: _Plan, referrer_id: int, row: Row, buyer_id: int) -> list[_Earned]:
    """The line's shares (``ledger.shares``, as for one order), computed once per kind of line."""
    kind = (referrer_id, row.sku, row.qty, buyer_id if buyer_id in plan.in_chain[referrer_id] else None)
    if kind not in plan.earned:
        shares = ledger.shares(plan.chains[referrer_id], plan.rules[row.sku], row.qty, plan.prices[row.sku], buyer_id)
        plan.earned[kind] = [_Earned(s.beneficiary.id, s.beneficiary.handle, s.level, s.amount) for s in shares]
    return plan.earned[kind]


def _write_commissions(
    session: Session, written: list[tuple[Row, int, int, list[_Earned]]], holds: dict[int, timedelta]
) -> None:
    """The chunk's pending ledger entries in one statement, release dates set for delivered orders."""
    entries, tell = [], heard("commission_created")
    for row, order_id, line_id, earned in written:
        for e in earned:
            entries.append(
                {"order_id": order_id, "order_line_id": line_id, "beneficiary_id": e.beneficiary_id,
                 "level": e.level, "kind": "commission", "seq": 0, "amount_fen": e.amount, "status": "pending",
                 "available_at": row.delivered_at + holds[e.beneficiary_id] if row.delivered_at else None,
                 "created_at": row.paid_at}
            )  # fmt: skip
            if tell:
                emit_after_commit(session, "commission_created", order_id=order_id, beneficiary=e.handle,
                                  level=e.level, amount=e.amount)  # fmt: skip
    bulk.write_rows(session, LedgerEntry.__table__, entries)
