"""Payouts: every available balance at or above a minimum becomes one payout per person.

A payout takes all of a person's ``available`` entries (negative reversals included, which is how a
refund after an earlier payout is netted) and marks them ``paid``; running it again finds nothing left.
Each person's entries are claimed with one conditional UPDATE (``available`` → ``paid``) before the
payout's amount is known: the amount is the sum of what that UPDATE claimed, so two runs at once can
never both pay the same entries (the second claims nothing and pays nothing).
How the money moves is a payout method from the ``payout_method`` hook; the built-in ``manual`` method
(``default_plugins.manual_payout``) only records the transfer for the seller to make (and to export as a batch file).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session

from weishang_core import identifiers
from weishang_core.csv_output import write_rows
from weishang_core.errors import UserError
from weishang_core.models import Identity, LedgerEntry, Payout, utcnow
from weishang_core.money import format_yuan
from weishang_core.plugins import load_plugins, pm
from weishang_core.statuses import LedgerStatus


class PayoutMethod(Protocol):
    """What the ``payout_method`` hook returns: moves one payout's money and gives its reference."""

    name: str

    def pay(self, handle: str, contact: str | None, amount_fen: int) -> str: ...


def run(session: Session, min_fen: int, method_name: str = "manual", now: datetime | None = None) -> list[Payout]:
    load_plugins()
    method: PayoutMethod | None = pm.hook.payout_method(name=method_name)
    if method is None:
        raise UserError(f"method: no payout method called {method_name!r}")
    now = now or utcnow()
    due = session.execute(
        select(LedgerEntry.beneficiary_id, func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.status == LedgerStatus.AVAILABLE)
        .group_by(LedgerEntry.beneficiary_id)
        .having(func.sum(LedgerEntry.amount_fen) >= max(min_fen, 1))
        .order_by(LedgerEntry.beneficiary_id)
    ).all()
    payouts = []
    for beneficiary_id, _ in due:
        payout = _claim(session, beneficiary_id, max(min_fen, 1), method_name, now)
        if payout is None:
            continue
        person = session.get_one(Identity, beneficiary_id)
        contact = identifiers.contact_for(session, person.id)
        payout.reference = method.pay(person.name, contact.value if contact else None, payout.amount_fen)
        payouts.append(payout)
    session.flush()
    return payouts


def _claim(session: Session, beneficiary_id: int, min_fen: int, method_name: str, now: datetime) -> Payout | None:
    """Mark the person's available entries paid to a new payout and make its amount their sum; undone
    (nothing paid) when, read under the claim, that sum is below the minimum."""
    payout = Payout(beneficiary_id=beneficiary_id, amount_fen=0, method=method_name, created_at=now)
    session.add(payout)
    session.flush()
    session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.beneficiary_id == beneficiary_id, LedgerEntry.status == LedgerStatus.AVAILABLE)
        .values(status=LedgerStatus.PAID, payout_id=payout.id)
        .execution_options(synchronize_session=False)
    )
    claimed = session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(LedgerEntry.payout_id == payout.id))
    if claimed is not None and int(claimed) >= min_fen:
        payout.amount_fen = int(claimed)
        return payout
    session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.payout_id == payout.id)
        .values(status=LedgerStatus.AVAILABLE, payout_id=None)
        .execution_options(synchronize_session=False)
    )
    session.delete(payout)
    session.flush()
    return None


def list_all(session: Session) -> list[tuple[Payout, Identity]]:
    query = select(Payout, Identity).join(Identity, Identity.id == Payout.beneficiary_id).order_by(Payout.id)
    return [(p, i) for p, i in session.execute(query)]


def as_dict(payout: Payout, person: Identity, reveal: bool = False) -> dict[str, Any]:
    """A payout as listings show it; the contact is masked unless ``reveal`` (the transfer file)."""
    session = object_session(person)
    contact = identifiers.contact_for(session, person.id) if session is not None else None
    shown = None if contact is None else contact.value if reveal else identifiers.mask(contact.kind, contact.value)
    return {
        "id": payout.id,
        "beneficiary": person.name,
        "contact": shown,
        "amount": format_yuan(payout.amount_fen),
        "method": payout.method,
        "reference": payout.reference,
        "created_at": payout.created_at.isoformat(),
    }


CSV_FIELDS = ["id", "beneficiary", "contact", "amount", "method", "reference", "created_at"]
PEOPLE_FIELDS = ("beneficiary", "contact", "reference")  # typed by people (the reference quotes them)


def write_csv(session: Session, handle: IO[str]) -> int:
    """The payouts as the batch file the seller opens in a spreadsheet (see ``csv_output``)."""
    rows = [as_dict(p, i, reveal=True) for p, i in list_all(session)]  # the seller transfers from this file
    write_rows(handle, CSV_FIELDS, rows, PEOPLE_FIELDS)
    return len(rows)


def export_csv(session: Session, path: str) -> int:
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise UserError(f"csv: folder {str(target.parent)!r} does not exist")
    with target.open("w", newline="", encoding="utf-8") as handle:
        return write_csv(session, handle)
