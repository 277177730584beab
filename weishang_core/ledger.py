"""The commission ledger: append-only entries, balances derived by summing them.

On payment each beneficiary gets a ``pending`` entry per order line and level, rounded half up to the fen.
Delivery fixes when it becomes ``available``: the return window plus the beneficiary's trust hold.
``settle`` releases what is due; a payout marks entries ``paid``. A refund never edits an entry: it adds a
negative ``reversal`` so that the cumulative reversal of each entry is ``round_half_up(C × refunded ÷
paid)`` of that line — exactly ``C`` when the line is fully refunded, so every beneficiary nets to 0,
even after a payout (the balance goes negative and the next payout nets it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import referrals, trust
from weishang_core.commission_rules import HARD_MAX_LEVELS, LevelRule, parse_rule
from weishang_core.config import Settings
from weishang_core.events import emit_after_commit
from weishang_core.models import Identity, LedgerEntry, Order, OrderEvent, OrderLine, Product, StoreSetting
from weishang_core.money import apply_rate, format_yuan
from weishang_core.statuses import LedgerStatus


def rule_for(session: Session, settings: Settings, product: Product) -> list[LevelRule]:
    """The product's rule, else the store default; levels above the compliance profile are never paid."""
    text = product.commission_rule
    if not text:
        default = session.get(StoreSetting, "default_commission")
        text = default.value if default else None
    if not text:
        return []
    return [r for r in parse_rule(text, HARD_MAX_LEVELS) if r.level <= settings.max_commission_levels]


def level_amount(rule: LevelRule, qty: int, unit_price_fen: int) -> int:
    if rule.rate_bp is not None:
        return apply_rate(qty * unit_price_fen, rule.rate_bp)
    return (rule.flat_fen or 0) * qty


@dataclass(frozen=True)
class Share:
    """What one person earns at one level on one order line."""

    beneficiary: Identity
    level: int
    amount: int


def shares(chain: list[Identity], rules: list[LevelRule], qty: int, unit_price_fen: int, buyer_id: int) -> list[Share]:
    """Who earns what on a line: level N goes to the Nth person up the chain, never more than the line.

    The seller earns no commission, and nobody earns on their own purchase. The chain has no cycles, so
    nobody appears at two levels of one order. One order (``create_commissions``) and a bulk import
    (``order_import``) both pay through here.
    """
    made: list[Share] = []
    remaining = qty * unit_price_fen
    for rule in rules:
        if rule.level > len(chain):
            break
        person = chain[rule.level - 1]
        if person.is_seller or person.id == buyer_id:
            continue
        amount = min(level_amount(rule, qty, unit_price_fen), remaining)
        if amount <= 0:
            continue
        remaining -= amount
        made.append(Share(person, rule.level, amount))
    return made


def create_commissions(session: Session, settings: Settings, order: Order) -> list[LedgerEntry]:
    """Write the pending commissions of a paid order. Query count does not depend on chain depth."""
    if order.referrer_id is None or order.attribution_note:
        return []
    levels = settings.max_commission_levels
    referrer = session.get(Identity, order.referrer_id)
    assert referrer is not None
    chain = [referrer, *referrals.ancestors(session, referrer.id, levels - 1)]
    entries: list[LedgerEntry] = []
    for line in order.lines:
        product = session.get(Product, line.product_id)
        assert product is not None
        for share in shares(chain, rule_for(session, settings, product), line.qty, line.unit_price_fen, order.buyer_id):
            entry = LedgerEntry(
                order_id=order.id,
                order_line_id=line.id,
                beneficiary_id=share.beneficiary.id,
                level=share.level,
                kind="commission",
                seq=0,
                amount_fen=share.amount,
                status=LedgerStatus.PENDING,
            )
            session.add(entry)
            entries.append(entry)
            emit_after_commit(
                session,
                "commission_created",
                order_id=order.id,
                beneficiary=share.beneficiary.handle,
                level=share.level,
                amount=share.amount,
            )
    session.flush()
    return entries


def schedule_release(session: Session, settings: Settings, order: Order, delivered_at: datetime) -> None:
    """Set when each pending entry of a delivered order becomes available (return window + trust hold)."""
    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.order_id == order.id, LedgerEntry.status == LedgerStatus.PENDING)
    ).all()
    holds: dict[int, int] = {}
    for entry in entries:
        if entry.beneficiary_id not in holds:
            person = session.get(Identity, entry.beneficiary_id)
            assert person is not None
            holds[entry.beneficiary_id] = trust.score(session, person, delivered_at).extra_hold_days
        entry.available_at = delivered_at + timedelta(days=settings.return_days + holds[entry.beneficiary_id])
    session.flush()


def reverse_for_refund(session: Session, line: OrderLine, refund: OrderEvent) -> list[LedgerEntry]:
    """Add reversal entries so each commission on ``line`` shrinks pro rata to what is still paid."""
    base = line.qty * line.unit_price_fen
    originals = session.scalars(
        select(LedgerEntry).where(LedgerEntry.order_line_id == line.id, LedgerEntry.kind == "commission")
    ).all()
    created = []
    for original in originals:
        reversed_so_far = -(
            session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.reverses_id == original.id)
            )
            or 0
        )
        target = (2 * original.amount_fen * line.refunded_fen + base) // (2 * base)
        delta = target - reversed_so_far
        if delta <= 0:
            continue
        entry = LedgerEntry(
            order_id=original.order_id,
            order_line_id=line.id,
            beneficiary_id=original.beneficiary_id,
            level=original.level,
            kind="reversal",
            seq=refund.id,
            reverses_id=original.id,
            amount_fen=-delta,
            status=LedgerStatus.PENDING if original.status == LedgerStatus.PENDING else LedgerStatus.AVAILABLE,
            available_at=original.available_at,
            note=f"refund #{refund.id}",
        )
        session.add(entry)
        created.append(entry)
    session.flush()
    return created


@dataclass(frozen=True)
class Balances:
    pending: int = 0
    available: int = 0
    paid: int = 0

    def as_dict(self) -> dict[str, str]:
        return {
            k: format_yuan(v)
            for k, v in (("pending", self.pending), ("available", self.available), ("paid", self.paid))
        }


def balances(session: Session, beneficiary_id: int | None = None) -> Balances:
    query = select(LedgerEntry.status, func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.status)
    if beneficiary_id is not None:
        query = query.where(LedgerEntry.beneficiary_id == beneficiary_id)
    sums: dict[str, int] = defaultdict(int, {status: int(total or 0) for status, total in session.execute(query)})
    return Balances(sums["pending"], sums["available"], sums["paid"])


def entries(session: Session, beneficiary_id: int | None = None) -> list[tuple[LedgerEntry, str]]:
    query = select(LedgerEntry, Identity).join(Identity, Identity.id == LedgerEntry.beneficiary_id)
    if beneficiary_id is not None:
        query = query.where(LedgerEntry.beneficiary_id == beneficiary_id)
    return [(e, person.name) for e, person in session.execute(query.order_by(LedgerEntry.id))]


def entry_dict(entry: LedgerEntry, handle: str) -> dict[str, object]:
    return {
        "order_id": entry.order_id,
        "beneficiary": handle,
        "level": entry.level,
        "kind": entry.kind,
        "amount": format_yuan(entry.amount_fen),
        "status": entry.status,
        "available_at": entry.available_at.isoformat() if entry.available_at else None,
    }
