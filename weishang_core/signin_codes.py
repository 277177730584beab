"""One-time sign-in codes: a returning buyer or reseller proves a phone or email on another phone.

A 6-digit code goes to the identifier through the ``deliver_message`` hook and is kept only as a salted,
slow hash. It works for 10 minutes, for at most 5 tries, once; asking again retires the earlier code,
and an identifier gets at most 5 codes an hour. Whether or not anybody has the identifier, the answer
is the same (and takes as long). Proving an identifier signs in its verified owner; an identifier only
typed at checkout becomes verified by the proof, for the plain buyer who typed it (see ``owner``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from weishang_core import identifiers, locks, messages  # noqa: F401  (messages registers the log transport)
from weishang_core.db import rows_changed
from weishang_core.events import emit_after_commit
from weishang_core.models import Identifier, Identity, SignInCode, VisitorPerson, utcnow

CODE_AGE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_PER_HOUR = 5
ROUNDS = 50_000  # PBKDF2 rounds: a copy of the table does not give a live code away at a glance


def _hash(code: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", code.encode(), salt.encode(), ROUNDS).hex()


def send(session: Session, kind: str, text: str, now: datetime | None = None) -> None:
    """Send a fresh code to this phone or email if anybody here has it; say nothing either way."""
    value = identifiers.parse(kind, text, kind)
    now = now or utcnow()
    known = session.scalar(
        select(Identifier).where(Identifier.kind == value.kind, Identifier.value == value.value)
        .order_by(Identifier.id).limit(1)
    )  # fmt: skip
    if known is not None:
        locks.lock(session, known)  # N requests at once count one after another: at most 5 codes an hour
    hour_ago = now - timedelta(hours=1)
    recent = session.scalar(
        select(func.count()).where(
            SignInCode.kind == value.kind, SignInCode.value == value.value, SignInCode.created_at > hour_ago
        )
    )
    code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(8)
    digest = _hash(code, salt)  # computed either way, so an unknown identifier answers as slowly
    if known is None or (recent or 0) >= MAX_PER_HOUR:
        return
    session.execute(
        update(SignInCode)
        .where(SignInCode.kind == value.kind, SignInCode.value == value.value, SignInCode.used_at.is_(None))
        .values(used_at=now)
    )
    session.add(
        SignInCode(kind=value.kind, value=value.value, code_hash=digest, salt=salt, created_at=now,
                   expires_at=now + CODE_AGE)
    )  # fmt: skip
    session.flush()
    emit_after_commit(
        session,
        "deliver_message",
        recipient=value.value,
        kind=value.kind,
        template="signin_code",
        values={"code": code, "minutes": int(CODE_AGE.total_seconds() // 60)},
    )


def check(session: Session, kind: str, text: str, code: str, now: datetime | None = None) -> bool:
    """Spend one try of the live code for this identifier: True once, for the right code in time.

    Each try is one conditional UPDATE (``attempts < 5``) and the use another (``used_at IS NULL``), so
    parallel guesses get five tries in all and a right code signs in once.
    """
    value = identifiers.parse(kind, text, kind)
    now = now or utcnow()
    row = session.scalar(
        select(SignInCode)
        .where(SignInCode.kind == value.kind, SignInCode.value == value.value, SignInCode.used_at.is_(None))
        .where(SignInCode.expires_at > now)
        .order_by(SignInCode.id.desc())
        .limit(1)
    )
    if row is None:
        _hash(code, "no code")  # the same work as a real try
        return False
    tried = rows_changed(
        session,
        update(SignInCode)
        .where(SignInCode.id == row.id, SignInCode.attempts < MAX_ATTEMPTS, SignInCode.used_at.is_(None))
        .values(attempts=SignInCode.attempts + 1),
    )
    if tried != 1 or not hmac.compare_digest(_hash(code.strip(), row.salt), row.code_hash):
        return False
    used = rows_changed(
        session, update(SignInCode).where(SignInCode.id == row.id, SignInCode.used_at.is_(None)).values(used_at=now)
    )
    return used == 1


def owner(session: Session, kind: str, text: str, visitor_id: str | None = None) -> Identity:
    """Who has just proven this identifier: its verified owner; else the plain buyer who typed it at
    checkout (the one this browser is, or the only one), whose identifier becomes verified; else a new
    person. Never one of the seller's people through an identifier only typed: they are vouched for by
    the seller (``--phone``) or sign in by the seller's link."""
    value = identifiers.parse(kind, text, kind)
    found = identifiers.verified_owner(session, value)
    if found is not None:
        return found
    typed_by = list(
        session.scalars(
            select(Identity)
            .join(Identifier, Identifier.identity_id == Identity.id)
            .where(Identifier.kind == value.kind, Identifier.value == value.value, Identifier.scope == value.scope)
            .where(Identity.handle.is_(None), ~Identity.is_reseller, ~Identity.is_staff, ~Identity.is_seller)
            .order_by(Identity.id)
        )
    )
    linked = session.get(VisitorPerson, visitor_id) if visitor_id else None
    chosen = next((p for p in typed_by if linked is not None and p.id == linked.identity_id), None)
    if chosen is None and len(typed_by) == 1:
        chosen = typed_by[0]
    if chosen is None:
        chosen = Identity(handle=None, display_name=identifiers.mask(value.kind, value.value))
        session.add(chosen)
        session.flush()
    identifiers.add(session, chosen, value, verified=True)
    return chosen
