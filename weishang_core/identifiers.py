"""What a person can prove to be: phone numbers, emails, WeChat openids and typed WeChat IDs.

Values are normalised before they are stored or compared (E.164 phones, lower-case emails), so the
same phone typed two ways is one value. An identifier is *verified* when its owner proved it (a code
sent to it) or the seller vouched for it (``--phone`` on the CLI); a verified identifier belongs to one
person. Unverified ones are only what someone typed, and anyone can type anyone's phone: they may
repeat, and they never decide who somebody is. Identifiers are shown masked except to their owner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from weishang_core.errors import UserError
from weishang_core.models import Identifier, Identity, utcnow

PHONE, EMAIL, WECHAT_ID, OPENID, UNIONID = "phone", "email", "wechat_id", "wechat_openid", "wechat_unionid"
KINDS = (PHONE, EMAIL, WECHAT_ID, OPENID, UNIONID)
PROVABLE = (PHONE, EMAIL)  # kinds a sign-in code can be sent to
# ITU country codes of one or two digits; every other code has three (the codes are prefix-free).
_SHORT_CODE = re.compile(r"[17]|2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]")
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")


@dataclass(frozen=True)
class Value:
    """A normalised identifier value of one kind (and scope: the AppID of a WeChat openid)."""

    kind: str
    value: str
    scope: str = ""


def phone(text: str, field: str = "phone") -> str:
    """E.164 (``+8613800138000``); a mainland mobile typed without its country code gets +86."""
    digits = re.sub(r"[\s\-().]", "", text or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        if _MAINLAND_MOBILE.fullmatch(digits):
            digits = "+86" + digits
        elif len(digits) == 13 and digits.startswith("86") and _MAINLAND_MOBILE.fullmatch(digits[2:]):
            digits = "+" + digits
        else:
            raise UserError(f"{field}: {text!r} is not a phone number; give it with its country code, e.g. +852…")
    number = digits[1:]
    if not number.isdigit() or not 8 <= len(number) <= 15 or number[0] == "0":
        raise UserError(f"{field}: {text!r} is not a phone number (E.164: + and 8 to 15 digits)")
    if number.startswith("86") and not _MAINLAND_MOBILE.fullmatch(number[2:]):
        raise UserError(f"{field}: {text!r} is not a mainland mobile number (+86 1xx xxxx xxxx)")
    return "+" + number


def email(text: str, field: str = "email") -> str:
    value = (text or "").strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise UserError(f"{field}: {text!r} is not an email address")
    return value


def parse(kind: str, text: str, field: str | None = None, scope: str = "") -> Value:
    """Check and normalise one identifier of a known kind."""
    field = field or kind
    if kind == PHONE:
        return Value(PHONE, phone(text, field))
    if kind == EMAIL:
        return Value(EMAIL, email(text, field))
    if kind not in KINDS:
        raise UserError(f"{field}: unknown identifier kind {kind!r}")
    value = (text or "").strip()
    if not value or len(value) > 200 or not value.isprintable():
        raise UserError(f"{field}: must be 1-200 printable characters")
    if kind in (OPENID, UNIONID) and not scope:
        raise UserError(f"{field}: a WeChat openid or unionid needs the AppID it belongs to")
    return Value(kind, value, scope[:64])


def classify(contact: str | None) -> Value | None:
    """A typed contact as the kind it looks like: phone-shaped, email-shaped, else a WeChat ID."""
    text = (contact or "").strip()
    if not text:
        return None
    for kind in (PHONE, EMAIL):
        try:
            return parse(kind, text)
        except UserError:
            pass
    return Value(WECHAT_ID, text[:200])


def mask(kind: str, value: str) -> str:
    """Enough to recognise one's own (``+86 138****8000``, ``q***@example.com``), not to use someone else's."""
    if kind == PHONE and value.startswith("+"):
        number = value[1:]
        code = next(number[:n] for n in (1, 2, 3) if n == 3 or _SHORT_CODE.fullmatch(number[:n]))
        national = number[len(code) :]
        return f"+{code} {national[:3]}****{national[-4:]}" if len(national) > 7 else f"+{code} ****{national[-2:]}"
    if kind == EMAIL and "@" in value:
        local, domain = value.split("@", 1)
        return f"{local[:1]}***@{domain}"
    if len(value) <= 3:
        return "***"
    return f"{value[:2]}***{value[-1:]}"


def add(session: Session, person: Identity, value: Value, verified: bool) -> Identifier:
    """Give someone an identifier (once per person); a verified one already someone else's is refused."""
    existing = session.scalar(
        select(Identifier).where(
            Identifier.identity_id == person.id,
            Identifier.kind == value.kind,
            Identifier.scope == value.scope,
            Identifier.value == value.value,
        )
    )
    if existing is not None:
        if verified and not existing.verified:
            verify(session, existing)
        return existing
    row = Identifier(identity_id=person.id, kind=value.kind, scope=value.scope, value=value.value)
    session.add(row)
    session.flush()
    if verified:
        verify(session, row)
    return row


def verify(session: Session, row: Identifier) -> None:
    """Mark an identifier proven; the unique index on verified values refuses a second owner."""
    taken = UserError(f"{row.kind}: {mask(row.kind, row.value)} is already someone else's verified {row.kind}")
    owner = verified_owner(session, Value(row.kind, row.value, row.scope))
    if owner is not None and owner.id != row.identity_id:
        raise taken
    row.verified, row.verified_at = True, utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # proven by another person at the same moment
        raise taken from None


def verified_owner(session: Session, value: Value) -> Identity | None:
    """The one person who proved this identifier, if anyone did."""
    return session.scalar(
        select(Identity)
        .join(Identifier, Identifier.identity_id == Identity.id)
        .where(
            Identifier.kind == value.kind,
            Identifier.scope == value.scope,
            Identifier.value == value.value,
            Identifier.verified.is_(True),
        )
    )


def of(session: Session, person_id: int) -> list[Identifier]:
    return list(session.scalars(select(Identifier).where(Identifier.identity_id == person_id).order_by(Identifier.id)))


def shown(rows: list[Identifier], reveal: bool = False) -> list[dict[str, object]]:
    """Identifiers as listings print them: masked unless shown to their owner."""
    return [
        {"kind": r.kind, "value": r.value if reveal else mask(r.kind, r.value), "verified": r.verified}
        | ({"scope": r.scope} if r.scope else {})
        for r in rows
    ]


def values_of(session: Session, person_ids: list[int]) -> dict[int, set[str]]:
    """Every identifier value of each person, for self-referral checks."""
    found: dict[int, set[str]] = {person_id: set() for person_id in person_ids}
    if person_ids:
        query = select(Identifier.identity_id, Identifier.value).where(Identifier.identity_id.in_(person_ids))
        for person_id, value in session.execute(query):
            found[person_id].add(value)
    return found


def contact_for(session: Session, person_id: int) -> Identifier | None:
    """Where to reach someone (payouts): a verified identifier first, then the oldest they gave."""
    rows = of(session, person_id)
    rank = {kind: n for n, kind in enumerate((PHONE, WECHAT_ID, EMAIL, UNIONID, OPENID))}
    rows.sort(key=lambda r: (not r.verified, rank.get(r.kind, 9), r.id))
    return rows[0] if rows else None
