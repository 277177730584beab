"""Before anything goes out: one post per outlet account, under its idempotency key, with its content
rendered and the policies checked (daily cap, limits, content), and a preview of all that without
writing it. :func:`plan` runs in the caller's transaction; a refusal is a post too, with its reason.
A publishing step runs the same checks again, with what its claim learned once for the batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import accounts, campaigns, catalog, identities, policy, referrals
from weishang_core.channels import Channel
from weishang_core.clock import local_day
from weishang_core.config import Settings
from weishang_core.content import Content
from weishang_core.distribution.attempts import Claimed
from weishang_core.distribution.doubt import _doubtful
from weishang_core.distribution.settings import ACTIVE
from weishang_core.errors import ChannelError, UserError
from weishang_core.models import Identity, OutletAccount, Post, Product, utcnow
from weishang_core.plugins import get_channels
from weishang_core.statuses import PostStatus, ProductStatus


def idempotency_key(product: Product, account: OutletAccount, poster: Identity, day: str, kind: str) -> str:
    """One post per (product, account, poster, day): a double click or a retry finds the same post."""
    raw = f"{product.id}:{account.id}:{poster.id}:{day}:{kind}"
    return "ws-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def content_for(session: Session, settings: Settings, post: Post, known: _Known | None = None) -> Content:
    product = session.get_one(Product, post.product_id)
    poster = session.get_one(Identity, post.poster_id)
    link = session.get(referrals.ReferralLink, post.link_id) if post.link_id else None
    url = referrals.link_url(settings, link.code) if link else f"{settings.store_url}/p/{product.sku}"
    account = session.get(OutletAccount, post.account_id)
    if account is not None:  # the landing records the click under this outlet (see insight.py)
        url += f"?utm_source={account.channel}"
    return Content(
        sku=product.sku,
        title=product.title,
        description=product.description,
        price_fen=product.price_fen,
        link=url,
        poster=poster.name,  # the handle: a poster (a reseller or the seller) always has one
        note=post.note,
        images=tuple(settings.home / "media" / name for name in product.images),
        is_reseller=not poster.is_seller,
        campaign=known.campaign(session, product) if known else _campaign_facts(session, product),
    )


def _campaign_facts(session: Session, product: Product) -> dict[str, Any] | None:
    """A running campaign's target, amount raised and deadline, for the post's text."""
    campaign = campaigns.live_for(session, product)
    if campaign is None:
        return None
    facts = campaigns.as_dict(session, campaign)
    return {"target": facts["target"], "raised": facts["raised"], "deadline": f"{campaign.deadline:%m-%d}"}


def _refusal(
    session: Session,
    settings: Settings,
    post: Post,
    channel: Channel | None,
    account: OutletAccount,
    exclude_id: int | None = None,
    known: _Known | None = None,
) -> tuple[str | None, dict[str, Any]]:
    """Why this post may not go out (or None), and its rendered payload."""
    if channel is None:
        return f"channel {account.channel!r} is not installed any more", {}
    content = content_for(session, settings, post, known)
    try:
        payload = channel.render(content)
    except ChannelError as exc:
        return f"{channel.name}: cannot render: {exc}", {}
    reason = policy.check_content(f"{content.note}\n{payload.get('text', '')}")
    if reason:
        return reason, payload
    if known is not None:  # the batch counted them at its claim; this post itself is one of them
        today = known.today.get((account.id, post.local_day), 0) - 1
    else:
        today = posts_today(session, post.local_day, exclude_id, [account.id]).get(account.id, 0)
    if today >= account.daily_cap:
        return (
            f"daily cap: {today} posts already on {account.name} for {post.local_day} (limit {account.daily_cap} a day)"
        ), payload
    return policy.check_limits(channel, accounts.view(account), payload, content.link), payload


def posts_today(
    session: Session, day: str, exclude_id: int | None = None, account_ids: Collection[int] | None = None
) -> dict[int, int]:
    """Posts counting toward each account's daily cap on the seller's DAY, by account id (or just some
    accounts': a publishing step asks for its own, not for a count over every post of the day)."""
    query = (
        select(Post.account_id, func.count())
        .where(Post.local_day == day, Post.status.in_(ACTIVE), Post.id != (exclude_id or -1))
        .group_by(Post.account_id)
    )
    if account_ids is not None:
        query = query.where(Post.account_id.in_(account_ids))
    return {account_id: count for account_id, count in session.execute(query)}


def plan(
    session: Session,
    settings: Settings,
    sku: str,
    poster_handle: str | None = None,
    note: str = "",
    channel_names: tuple[str, ...] = (),
    at: datetime | None = None,
    kind: str = "product",
    now: datetime | None = None,
) -> list[Post]:
    """Write one post per outlet account of the poster; refused ones carry their reason and no key."""
    now = now or utcnow()
    product = catalog.get(session, sku)
    if product.status != ProductStatus.ACTIVE:
        raise UserError(f"sku: {product.sku} is withdrawn; restore it before distributing")
    poster = identities.get(session, poster_handle, "as") if poster_handle else identities.seller(session)
    if not (poster.is_reseller or poster.is_seller):
        raise UserError(f"as: {poster.handle!r} is not a reseller")
    if len(note) > 2000:
        raise UserError(f"note: {len(note)} characters; keep a personal note under 2,000")
    query = select(OutletAccount).where(OutletAccount.owner_id == poster.id).order_by(OutletAccount.id)
    if channel_names:
        query = query.where(OutletAccount.channel.in_(channel_names))
    targets = list(session.scalars(query))
    if not targets:
        wanted = f" on {', '.join(channel_names)}" if channel_names else ""
        raise UserError(f"{poster.handle} has no outlet accounts{wanted}: add one with `weishang account add`")
    installed = get_channels()
    link = referrals.link_for(session, poster, product)
    day = local_day(at or now, settings.tz)
    posts = []
    for account in targets:
        key = idempotency_key(product, account, poster, day, kind)
        post = session.scalar(select(Post).where(Post.idempotency_key == key))
        if post is not None and post.status not in (PostStatus.FAILED, PostStatus.CANCELLED):
            posts.append(post)  # a double click: the same post, not a second one
            continue
        if post is None:
            post = Post(
                product_id=product.id,
                account_id=account.id,
                poster_id=poster.id,
                link_id=link.id,
                kind=kind,
                local_day=day,
                idempotency_key=key,
                created_at=now,
            )
            session.add(post)
        post.note, post.status, post.reason, post.attempts = note, PostStatus.QUEUED, None, 0
        post.scheduled_at, post.next_attempt_at, post.updated_at = at, None, now
        session.flush()
        reason, payload = _refusal(session, settings, post, installed.get(account.channel), account, post.id)
        post.payload = payload
        if reason:
            post.status, post.reason, post.idempotency_key = PostStatus.REFUSED, reason, None
        posts.append(post)
    session.flush()
    return posts


def preview(
    session: Session, settings: Settings, sku: str, poster_handle: str | None = None, note: str = ""
) -> list[dict[str, Any]]:
    """What pressing "distribute" would do, per outlet account, without doing it.

    The plan is made for real inside a savepoint and rolled back, so the preview shows exactly the text
    each channel's ``render`` makes and exactly the refusals (daily cap, limits, policies) the press meets.
    """
    now = utcnow()
    shown = []
    with session.begin_nested() as savepoint:
        for post in plan(session, settings, sku, poster_handle, note, now=now):
            account = session.get_one(OutletAccount, post.account_id)
            today = posts_today(session, post.local_day, post.id, [account.id]).get(account.id, 0)
            shown.append(
                {
                    "account": account.name,
                    "channel": account.channel,
                    "today": today or 0,
                    "daily_cap": account.daily_cap,
                    "title": post.payload.get("title", ""),
                    "text": post.payload.get("text", ""),
                    "images": len(post.payload.get("images", [])),
                    "outcome": "refused"
                    if post.status == PostStatus.REFUSED
                    else "already"
                    if post.status != PostStatus.QUEUED
                    else "ok",
                    "reason": post.reason if post.status == PostStatus.REFUSED else None,
                    "status": post.status,
                }
            )
        savepoint.rollback()
    return shown


@dataclass
class _Known:
    """What a batch's claim learns once for all its posts instead of once per post."""

    doubtful: set[int]
    today: dict[tuple[int, str], int]  # posts counting toward the daily cap, by (account id, day)
    views: dict[int, accounts.Account] = field(default_factory=dict)  # a token one post refreshes serves the next
    campaigns: dict[int, dict[str, Any] | None] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, claims: list[Claimed]) -> _Known:
        posts = [claimed[0] for claimed in claims]
        account_ids = {p.account_id for p in posts}
        today = {
            (account_id, day): n
            for day in {p.local_day for p in posts}  # a batch is nearly always of one day
            for account_id, n in posts_today(session, day, account_ids=account_ids).items()
        }
        return cls(_doubtful(session, [p.id for p in posts]) if posts else set(), today)

    def campaign(self, session: Session, product: Product) -> dict[str, Any] | None:
        if product.id not in self.campaigns:
            self.campaigns[product.id] = _campaign_facts(session, product)
        return self.campaigns[product.id]

    def leaves_the_count(self, post: Post) -> None:
        """A post of the batch refused or cancelled no longer counts toward its account's cap."""
        self.today[(post.account_id, post.local_day)] -= 1
