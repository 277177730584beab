"""The schema: every table weishang keeps, as SQLAlchemy 2 typed models.

Money columns are integer fen and rates integer basis points. Times are stored in UTC. Ledger entries are
never edited in amount: a refund is a new, negative entry. Alembic migrations in ``migrations/`` are the
only way this schema reaches a database; ``tests/test_migrations.py`` fails when the two disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import DateTime, TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC and hand back aware UTC, so SQLite and PostgreSQL compare times alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; weishang stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


intpk = Annotated[int, mapped_column(primary_key=True)]
fen = Annotated[int, mapped_column(BigInteger, default=0)]
created = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow)]
when = Annotated[datetime | None, mapped_column(UTCDateTime)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


class Identity(Base):
    """A person: seller, reseller, staff and buyer are roles of one identity.

    Who someone is rests on what they can prove (``Identifier``), never on a name: ``display_name`` is what
    they call themselves and two buyers called 張三 are two people. The seller's own people (the seller,
    resellers, staff) also have a ``handle``, unique, by which the seller names them on the command line.
    """

    __tablename__ = "identities"
    id: Mapped[intpk]
    handle: Mapped[str | None] = mapped_column(String(64), unique=True)  # None for plain buyers
    display_name: Mapped[str] = mapped_column(String(64), server_default="")
    is_seller: Mapped[bool] = mapped_column(default=False)
    is_reseller: Mapped[bool] = mapped_column(default=False)
    is_staff: Mapped[bool] = mapped_column(default=False)  # may use the seller's console (invited by the seller)
    # Adjacency list: commissions walk at most 3 levels up with a fixed number of joins (see referrals.py).
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    depth: Mapped[int] = mapped_column(default=0)
    reseller_since: Mapped[when]
    created_at: Mapped[created]

    sponsor: Mapped[Identity | None] = relationship(remote_side="Identity.id")

    @property
    def name(self) -> str:
        """What the seller sees: the handle when there is one, else the display name."""
        return self.handle or self.display_name


class Identifier(Base):
    """A phone, email, WeChat openid (scoped by AppID) or typed WeChat ID of one person, proven or not.

    A verified identifier belongs to one person (the partial unique index); unverified ones are what
    somebody typed and may repeat. Values are normalised (``identifiers.py``).
    """

    __tablename__ = "identifiers"
    __table_args__ = (
        Index(
            "uq_identifiers_verified",
            "kind",
            "scope",
            "value",
            unique=True,
            sqlite_where=text("verified"),
            postgresql_where=text("verified"),
        ),
        Index("ix_identifiers_kind_value", "kind", "value"),
    )
    id: Mapped[intpk]
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # phone | email | wechat_id | wechat_openid | wechat_unionid
    scope: Mapped[str] = mapped_column(String(64), default="")  # the AppID of a WeChat openid/unionid
    value: Mapped[str] = mapped_column(String(200))
    verified: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[when]
    created_at: Mapped[created]


class VisitorPerson(Base):
    """The person a browser (its signed visitor cookie) checked out or signed in as, for the next checkout."""

    __tablename__ = "visitor_people"
    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    linked_at: Mapped[created]


class SignInSession(Base):
    """A signed-in browser: the cookie carries a random token, the database only its hash.

    ``purpose`` is ``store`` (a reseller's or buyer's pages) or ``console`` (the seller's); a session ends
    at ``expires_at`` or when ended (signed out, or ended by its owner or the seller).
    """

    __tablename__ = "sessions"
    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[created]
    last_seen_at: Mapped[created]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[when]
    end_reason: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class SignInCode(Base):
    """A one-time sign-in code sent to a phone or email: kept as a salted hash, a few tries, used once."""

    __tablename__ = "signin_codes"
    __table_args__ = (Index("ix_signin_codes_kind_value", "kind", "value", "created_at"),)
    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(200))
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[created]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[when]


class StoreSetting(Base):
    """Store-wide settings a seller changes at run time (default commission rule, attribution rule)."""

    __tablename__ = "store_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )
    id: Mapped[intpk]
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    images: Mapped[list[Any]] = mapped_column(default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    price_fen: Mapped[fen]
    stock: Mapped[int] = mapped_column(default=0)
    commission_rule: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn
    seller_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"))
    created_at: Mapped[created]
    updated_at: Mapped[created]


class OutletAccount(Base):
    """A connected outlet of one identity. ``secrets`` and ``state`` are never printed or logged."""

    __tablename__ = "outlet_accounts"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secrets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    daily_cap: Mapped[int] = mapped_column(default=4)
    created_at: Mapped[created]

    owner: Mapped[Identity] = relationship()


class ReferralLink(Base):
    __tablename__ = "referral_links"
    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(String(32), unique=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    created_at: Mapped[created]


class Post(Base):
    """One product on one outlet account for one poster; its attempts are kept beside it."""

    __tablename__ = "posts"
    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("outlet_accounts.id"), index=True)
    poster_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_links.id"))
    # queued -> publishing -> published | failed | refused | unconfirmed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="product")  # product | update
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    local_day: Mapped[str] = mapped_column(String(10), index=True)  # the seller's day, for the cap
    attempts: Mapped[int] = mapped_column(default=0)
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_url: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scheduled_at: Mapped[when]
    next_attempt_at: Mapped[when]
    lease_until: Mapped[when]  # a worker owns a publishing post until then; after it, the post is stuck
    published_at: Mapped[when]
    created_at: Mapped[created]
    updated_at: Mapped[created]


class PostAttempt(Base):
    __tablename__ = "post_attempts"
    id: Mapped[intpk]
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    started_at: Mapped[created]
    finished_at: Mapped[when]
    outcome: Mapped[str] = mapped_column(String(16), default="started")
    error_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)


class Click(Base):
    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_visitor_created", "visitor_id", "created_at"),
        Index("ix_clicks_ip_created", "ip_hash", "created_at"),
    )
    id: Mapped[intpk]
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_links.id"), index=True)
    visitor_id: Mapped[str] = mapped_column(String(64))
    outlet: Mapped[str | None] = mapped_column(String(64))
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    ua_hash: Mapped[str | None] = mapped_column(String(64))
    counted: Mapped[bool] = mapped_column(default=True)  # False for a repeat (same visitor or address) in the window
    created_at: Mapped[created]


class Binding(Base):
    """Who a visitor (and the buyer they become) is attributed to, under which rule, until when."""

    __tablename__ = "bindings"
    id: Mapped[intpk]
    visitor_id: Mapped[str] = mapped_column(String(64), unique=True)
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("identities.id"))
    click_id: Mapped[int | None] = mapped_column(ForeignKey("clicks.id"))
    bound_at: Mapped[created]
    protected_until: Mapped[when]
    expires_at: Mapped[when]


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[intpk]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    target_fen: Mapped[fen]
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    min_qty: Mapped[int | None]
    max_qty: Mapped[int | None]
    sold_qty: Mapped[int] = mapped_column(default=0)
    ship_by: Mapped[when]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|funded|fulfilled|failed
    created_at: Mapped[created]
    closed_at: Mapped[when]


class Order(Base):
    __tablename__ = "orders"
    # Rewritten at each step of its life: room on the page and no index on status keep those rewrites off
    # every index (PostgreSQL HOT updates; migration 0004 says why).
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}
    id: Mapped[intpk]
    buyer_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    # pending -> paid -> shipped -> delivered -> completed; refunded (full) and cancelled end it
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total_fen: Mapped[fen]
    paid_fen: Mapped[fen]
    refunded_fen: Mapped[fen]
    contact: Mapped[str | None] = mapped_column(String(200))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    referrer_id: Mapped[int | None] = mapped_column(ForeignKey("identities.id"), index=True)
    attribution_rule: Mapped[str | None] = mapped_column(String(32))
    attribution_click_id: Mapped[int | None] = mapped_column(ForeignKey("clicks.id"))
    attribution_note: Mapped[str | None] = mapped_column(Text)
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    # ``web:<visitor>:<key>`` from the store (with a hash of what was asked), ``import:<key>`` from a file
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    idempotency_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[created]
    expires_at: Mapped[when]  # an unpaid order's hold on its stock ends then (settle cancels it)
    paid_at: Mapped[when]
    shipped_at: Mapped[when]
    delivered_at: Mapped[when]
    completed_at: Mapped[when]
    cancelled_at: Mapped[when]

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")


class OrderLine(Base):
    __tablename__ = "order_lines"
    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    qty: Mapped[int]
    unit_price_fen: Mapped[fen]
    refunded_qty: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[fen]
    exchanged_qty: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    """What happened to an order and why: payments, refunds, exchanges, attribution decisions."""

    __tablename__ = "order_events"
    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[fen]
    qty: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]


class Payout(Base):
    __tablename__ = "payouts"
    id: Mapped[intpk]
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    amount_fen: Mapped[fen]
    method: Mapped[str] = mapped_column(String(32), default="manual")
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[created]


class LedgerEntry(Base):
    """An append-only commission line; balances are sums of these, never a stored number."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("order_line_id", "beneficiary_id", "level", "kind", "seq", name="uq_ledger_entries_once"),
        Index("ix_ledger_entries_due", "status", "available_at"),
    )
    id: Mapped[intpk]
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), index=True)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), index=True)
    level: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # commission | reversal
    seq: Mapped[int] = mapped_column(default=0)  # 0 for the commission; the refund event's id for a reversal
    amount_fen: Mapped[fen]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|available|paid
    available_at: Mapped[when]
    released_at: Mapped[when]
    payout_id: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]


class AuditEntry(Base):
    """Seller actions that change who earns what (a sponsor change), kept for explanation."""

    __tablename__ = "audit_log"
    id: Mapped[intpk]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[created]


class SpentToken(Base):
    """A single-use token (a console sign-in link) that has been used: a second use is refused."""

    __tablename__ = "spent_tokens"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    spent_at: Mapped[created]


class FormNonce(Base):
    """A console form that took effect, with where its answer sent the browser: a second post of the
    same form (the back button, a double tap) is sent there again instead of acting twice."""

    __tablename__ = "form_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    result: Mapped[str | None] = mapped_column(Text)
    used_at: Mapped[created]


class CachedToken(Base):
    """Outlet access tokens shared by every worker when no Redis is configured."""

    __tablename__ = "cached_tokens"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
