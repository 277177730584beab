"""Signed-in browsers, kept on the server so that signing out (or the seller) really ends them.

A session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, so a copy of
the database signs nobody in. ``store`` sessions (a reseller's or buyer's own pages) last 30 days,
``console`` sessions (the seller's and staff's) 12 hours. Ending is one conditional UPDATE, so a
session ends once however many taps ask for it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from weishang_core.db import rows_changed
from weishang_core.errors import NotFound, UserError
from weishang_core.models import Identity, SignInSession, utcnow

STORE, CONSOLE = "store", "console"
AGES = {STORE: timedelta(days=30), CONSOLE: timedelta(hours=12)}
SEEN_EVERY = timedelta(minutes=5)  # last_seen_at is rewritten at most this often, not on every request


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, person: Identity, purpose: str, user_agent: str | None = None, now: datetime | None = None
) -> tuple[SignInSession, str]:
    """A new session for ``person``; the token (for the cookie) is returned once and never stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = SignInSession(
        token_hash=_hash(token),
        identity_id=person.id,
        purpose=purpose,
        created_at=now,
        last_seen_at=now,
        expires_at=now + AGES[purpose],
        user_agent=(user_agent or "")[:200] or None,
    )
    session.add(row)
    session.flush()
    return row, token


def current(session: Session, token: str | None, purpose: str, now: datetime | None = None) -> SignInSession | None:
    """The live session this token opens, or None (unknown, ended, expired or for another purpose)."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(SignInSession).where(SignInSession.token_hash == _hash(token), SignInSession.purpose == purpose)
    )
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, session_id: int, reason: str, person_id: int | None = None) -> bool:
    """End one session (only ``person_id``'s, when given); False if it had ended already."""
    query = update(SignInSession).where(SignInSession.id == session_id, SignInSession.ended_at.is_(None))
    if person_id is not None:
        query = query.where(SignInSession.identity_id == person_id)
    done = rows_changed(session, query.values(ended_at=utcnow(), end_reason=reason[:64]))
    return done == 1


def end_token(session: Session, token: str | None, reason: str) -> bool:
    """Sign out: end the session this cookie carries."""
    row = session.scalar(select(SignInSession).where(SignInSession.token_hash == _hash(token))) if token else None
    return row is not None and end(session, row.id, reason)


def end_all(session: Session, person_id: int, reason: str, purpose: str | None = None) -> int:
    """End every live session of one person (of one purpose, when given); how many ended."""
    query = update(SignInSession).where(SignInSession.identity_id == person_id, SignInSession.ended_at.is_(None))
    if purpose is not None:
        query = query.where(SignInSession.purpose == purpose)
    done = rows_changed(session, query.values(ended_at=utcnow(), end_reason=reason[:64]))
    return done


def end_by_seller(session: Session, session_id: int | str) -> SignInSession:
    """``weishang sessions end ID``: the seller ends anyone's session."""
    text = str(session_id).strip()
    if not text.isdigit() or len(text) > 12:
        raise UserError(f"id: {session_id!r} is not a session number")
    row = session.get(SignInSession, int(text))
    if row is None:
        raise NotFound(f"id: no session {text}")
    if not end(session, row.id, "ended by the seller"):
        raise UserError(f"id: session {text} has ended already")
    session.refresh(row)
    return row


def listed(
    session: Session, person_id: int | None = None, live_only: bool = True, now: datetime | None = None
) -> list[tuple[SignInSession, Identity]]:
    """Sessions with their person, newest first: one person's, or everyone's (the seller's list)."""
    now = now or utcnow()
    query = select(SignInSession, Identity).join(Identity, Identity.id == SignInSession.identity_id)
    if person_id is not None:
        query = query.where(SignInSession.identity_id == person_id)
    if live_only:
        query = query.where(SignInSession.ended_at.is_(None), SignInSession.expires_at > now)
    return [(row, person) for row, person in session.execute(query.order_by(SignInSession.id.desc()).limit(500))]


def as_dict(row: SignInSession, person: Identity, current_id: int | None = None) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": row.id,
        "person": person.name,
        "purpose": row.purpose,
        "created_at": row.created_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "end_reason": row.end_reason,
        "live": row.ended_at is None and row.expires_at > now,
        "user_agent": row.user_agent,
        "current": row.id == current_id,
    }
