"""Idempotency keys of the store: a repeated request gets the caller's first order, never anyone else's.

A key is scoped to its caller, the store's signed visitor cookie, and compared with what was asked, as
Stripe does: it is stored as ``web:<visitor>:<key>`` beside a hash of the request's parameters. Same
caller, key and parameters: the same order. Same caller and key, other parameters: ``Conflict`` naming
the key. A caller without a visitor cookie gets no replay (the key is ignored). Keys of imported orders
live under ``import:`` (``order_import.KEY_PREFIX``), a namespace no web key can reach.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weishang_core.errors import Conflict
from weishang_core.models import Order

WEB = "web:"


@dataclass(frozen=True)
class Scoped:
    """A caller's key as stored, the hash of their parameters, and the key and field as they sent them."""

    stored: str
    digest: str
    given: str
    field: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scope(
    visitor: str | None, key: str | None, params: dict[str, Any], field: str = "idempotency_key"
) -> Scoped | None:
    """The key in the caller's own namespace, or None (no replay) without a key or a visitor."""
    if not key or not visitor:
        return None
    who = visitor if len(visitor) <= 40 and ":" not in visitor else _digest(visitor)[:40]
    canonical = json.dumps(params, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Scoped(f"{WEB}{who}:{key}", _digest(canonical), key, field)


def replay(session: Session, scoped: Scoped) -> Order | None:
    """The order this caller placed with this key, if any; a Conflict if it asked for something else."""
    found = session.scalar(select(Order).where(Order.idempotency_key == scoped.stored))
    if found is not None and found.idempotency_hash != scoped.digest:
        raise Conflict(
            f"{scoped.field}: {scoped.given!r} was already used for an order with other details; "
            "send a new key for a new order"
        )
    return found


def create_once(session: Session, scoped: Scoped | None, make: Callable[[str | None, str | None], Order]) -> Order:
    """Place an order with ``make(stored_key, digest)`` unless the key already placed one.

    Two requests with one key at once: both miss, both insert, the unique key refuses the second. Its
    transaction is rolled back (the order is the first thing a store request writes, so nothing else is
    lost: the stock it took goes back) and the first request's order is answered instead.
    """
    if scoped is None:
        return make(None, None)
    found = replay(session, scoped)
    if found is not None:
        return found
    try:
        made = make(scoped.stored, scoped.digest)
        session.flush()
        return made
    except IntegrityError:
        session.rollback()
    found = replay(session, scoped)
    if found is None:
        raise Conflict(f"{scoped.field}: another request placed an order at the same moment; try again")
    return found
