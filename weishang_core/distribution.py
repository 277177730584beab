"""One click, every outlet: plan one post per outlet account, then publish each exactly once.

:func:`plan` runs in the caller's transaction: it checks the policies and writes the posts (a refusal is a
post too, with its reason). :func:`step` moves one post forward and is the body of every runner — the
in-process thread pool and the Celery task alike; :func:`step_many` does the same for a batch of a large
fan-out, sharing its round trips to the database. A step claims its posts under a lease, calls the
channel outside any transaction, and records the outcome; a post whose previous attempt ended without a
known outcome (a timeout, a dropped reply, a killed worker) is looked up on the outlet before it is sent
again, and a channel that cannot look up leaves it ``unconfirmed`` for the seller instead of guessing.
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from weishang_core import accounts, identities, policy, referrals
from weishang_core.channels import Channel, PublishResult
from weishang_core.clock import local_day
from weishang_core.config import Settings
from weishang_core.content import Content
from weishang_core.errors import (
    AuthExpired,
    ChannelError,
    NotFound,
    PermanentError,
    RateLimited,
    TransientError,
    UnknownOutcome,
    UserError,
)
from weishang_core.events import emit_after_commit
from weishang_core.models import Identity, OutletAccount, Post, PostAttempt, Product, utcnow
from weishang_core.plugins import get_channels

BATCH_MAX = 8  # posts a batch step publishes one after another
BATCH_FROM = 32  # posts on one channel a fan-out needs before they go in batches at all
FINAL = ("published", "failed", "refused", "unconfirmed", "cancelled")
ACTIVE = ("queued", "publishing", "published", "unconfirmed")  # these count toward the daily cap
MAX_POLLS = 48


def lease() -> timedelta:
    """How long a worker owns a post it is publishing: longer than any channel call (30 s timeouts)."""
    return timedelta(seconds=float(os.environ.get("WEISHANG_LEASE_SECONDS", "120")))


def max_attempts() -> int:
    return int(os.environ.get("WEISHANG_MAX_ATTEMPTS", "6"))


def backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: 0..base×2^(n-1), capped at five minutes."""
    base = float(os.environ.get("WEISHANG_RETRY_BASE", "2"))
    return random.uniform(0, min(300.0, base * 2 ** max(0, attempt - 1))) + base / 10


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
        poster=poster.handle,
        note=post.note,
        images=tuple(settings.home / "media" / name for name in product.images),
        is_reseller=not poster.is_seller,
        campaign=known.campaign(session, product) if known else _campaign_facts(session, product),
    )


def _campaign_facts(session: Session, product: Product) -> dict[str, Any] | None:
    """A running campaign's target, amount raised and deadline, for the post's text."""
    from weishang_core import campaigns

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
    from weishang_core import catalog

    now = now or utcnow()
    product = catalog.get(session, sku)
    if product.status != "active":
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
        if post is not None and post.status not in ("failed", "cancelled"):
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
        post.note, post.status, post.reason, post.attempts = note, "queued", None, 0
        post.scheduled_at, post.next_attempt_at, post.updated_at = at, None, now
        session.flush()
        reason, payload = _refusal(session, settings, post, installed.get(account.channel), account, post.id)
        post.payload = payload
        if reason:
            post.status, post.reason, post.idempotency_key = "refused", reason, None
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
                    if post.status == "refused"
                    else "already"
                    if post.status != "queued"
                    else "ok",
                    "reason": post.reason if post.status == "refused" else None,
                    "status": post.status,
                }
            )
        savepoint.rollback()
    return shown


def _may_have_gone_out(session: Session, post: Post) -> bool:
    return post.id in _doubtful(session, [post.id])


def _doubtful(session: Session, post_ids: list[int]) -> set[int]:
    """The posts with an earlier attempt that ended without a known outcome (a dropped reply, a killed
    worker).

    Any since the seller last resolved the post by hand, not only the last: after a dropped reply, a
    lookup that itself failed (a quota, a 503) must not make the next attempt forget that the post may
    already be on the outlet.
    """
    resolved = (
        select(PostAttempt.post_id, func.max(PostAttempt.id).label("last"))
        .where(PostAttempt.post_id.in_(post_ids), PostAttempt.outcome == "resolved")
        .group_by(PostAttempt.post_id)
        .subquery()
    )
    doubtful = (
        select(PostAttempt.post_id)
        .outerjoin(resolved, resolved.c.post_id == PostAttempt.post_id)
        .where(
            PostAttempt.post_id.in_(post_ids),
            PostAttempt.outcome.in_(("started", "unknown")),
            PostAttempt.id > func.coalesce(resolved.c.last, 0),
        )
        .distinct()
    )
    return set(session.scalars(doubtful))


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


def _next_hourly_slot(session: Session, channel: Channel, post: Post, now: datetime) -> datetime | None:
    """When the account has used up the outlet's hourly posting limit: the time the oldest post ages out."""
    limit = channel.limits.hourly_posts
    if not limit:
        return None
    hour_ago = now - timedelta(hours=1)
    recent = list(
        session.scalars(
            select(Post.published_at).where(
                Post.account_id == post.account_id, Post.id != post.id, Post.published_at >= hour_ago
            )
        )
    )
    in_flight = session.scalar(
        select(func.count()).where(
            Post.account_id == post.account_id, Post.id != post.id, Post.status == "publishing", Post.lease_until > now
        )
    )
    if len(recent) + (in_flight or 0) < limit:
        return None
    oldest = min((t for t in recent if t is not None), default=now)
    return oldest + timedelta(hours=1) if recent else now + timedelta(minutes=1)


Claimed = tuple[Post, OutletAccount, Product, Identity, Any]


def _claim(session: Session, post_ids: list[int]) -> list[Claimed]:
    """The posts, locked in id order (so two claims never deadlock), each with its account, product,
    poster and link in the same round trip: a step reads them all, and a worker's time goes mostly to
    round trips. Keep the tuples while the session is used: the identity map holds objects weakly, so the
    others would be loaded again one by one."""
    rows = session.execute(
        select(Post, OutletAccount, Product, Identity, referrals.ReferralLink)
        .join(OutletAccount, OutletAccount.id == Post.account_id)
        .join(Product, Product.id == Post.product_id)
        .join(Identity, Identity.id == Post.poster_id)
        .outerjoin(referrals.ReferralLink, referrals.ReferralLink.id == Post.link_id)
        .where(Post.id.in_(post_ids))
        .order_by(Post.id)
        .with_for_update(of=Post)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


@dataclass
class _Begun:
    """A post claimed for an attempt: what its call needs, taken out of the claiming transaction."""

    post_id: int
    attempt: PostAttempt
    channel: Channel
    view: accounts.Account
    payload: dict[str, Any]
    key: str
    external_id: str | None
    attempts: int
    polling: bool
    look_first: bool


@dataclass
class _Outcome:
    outcome: str
    detail: str | None = None
    delay: float | None = None
    result: PublishResult | None = None


def _begin(
    session: Session,
    settings: Settings,
    claimed: Claimed,
    now: datetime,
    known: _Known,
    margin: timedelta,
) -> _Begun | float | None:
    """Decide what one claimed post needs now: a wait (seconds), nothing more (None, final), or an attempt."""
    post, account, product, *_ = claimed  # the poster and link stay referenced for content_for
    if post.status in FINAL:
        return None
    waits = [t for t in (post.scheduled_at, post.next_attempt_at) if t and post.status == "queued"]
    if post.status == "publishing" and post.lease_until:
        waits.append(post.lease_until)
    due = max(waits, default=now)
    if due > now:
        return (due - now).total_seconds()
    if product.status != "active":
        known.leaves_the_count(post)
        post.status, post.reason, post.updated_at = "cancelled", "the product was withdrawn", now
        return None
    channel = get_channels().get(account.channel)
    polling = post.status == "publishing" and post.external_id is not None
    look_first = not polling and post.id in known.doubtful
    if not polling:
        reason, payload = _refusal(session, settings, post, channel, account, post.id, known)
        if reason and not look_first:
            known.leaves_the_count(post)
            post.status, post.reason, post.updated_at = "refused", reason, now
            return None
        post.payload = payload or post.payload
        if channel is not None and channel.limits.hourly_posts:
            session.flush()  # the hourly count reads the posts this batch already set publishing
        slot = None if look_first or channel is None else _next_hourly_slot(session, channel, post, now)
        if slot is not None:
            post.status, post.next_attempt_at, post.updated_at = "queued", slot, now
            post.reason = (
                f"waiting: {channel.name} allows {channel.limits.hourly_posts} posts an hour per account; "  # type: ignore[union-attr]
                f"next slot {slot:%H:%M} UTC"
            )
            return (slot - now).total_seconds()
        post.attempts += 1
    assert channel is not None
    post.status, post.lease_until, post.updated_at = "publishing", now + lease() + margin, now
    attempt = PostAttempt(post_id=post.id, started_at=now, outcome="started")
    session.add(attempt)
    if account.id not in known.views:
        known.views[account.id] = accounts.view(account)
    return _Begun(
        post.id,
        attempt,
        channel,
        known.views[account.id],
        dict(post.payload),
        post.idempotency_key or "",
        post.external_id,
        post.attempts,
        polling,
        look_first,
    )


def step(maker: sessionmaker[Session], settings: Settings, post_id: int) -> float | None:
    """Move one post forward. Returns seconds until it needs another step, or None when it is final."""
    return step_many(maker, settings, [post_id]).get(post_id)


def step_many(maker: sessionmaker[Session], settings: Settings, post_ids: list[int]) -> dict[int, float | None]:
    """Move posts forward, their outlet calls one after another; seconds until each needs another step.

    A batch shares its round trips to the database — one claim, one insert of attempts, one record of
    outcomes — which is most of a step's cost next to the call. Each call still has its own write-ahead
    mark: an attempt is ``claimed`` until just before its call, and only then ``started``, so a worker
    killed mid-batch leaves the posts it never sent without doubt. Leases get a margin for the calls
    before them, renewed (after recording what is done) whenever the batch runs past it.
    """
    now, leased_at = utcnow(), time.monotonic()  # the leases run from here, claim included
    results: dict[int, float | None] = dict.fromkeys(post_ids)
    begun: list[_Begun] = []
    margin = lease() / 4 if len(post_ids) > 1 else timedelta(0)
    with maker.begin() as session, session.no_autoflush:  # one flush for the batch, not one per query
        claims = _claim(session, post_ids)
        known = _Known.load(session, claims)
        for claimed in claims:
            decided = _begin(session, settings, claimed, now, known, margin)
            if isinstance(decided, _Begun):
                decided.attempt.outcome = "claimed" if begun else "started"
                begun.append(decided)
            else:
                results[claimed[0].id] = decided
        session.flush()
    done: list[tuple[_Begun, _Outcome]] = []
    with maker() as marks:  # one connection for the marks, each committed as it is written
        marks.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        for n, current in enumerate(begun):
            if n and time.monotonic() - leased_at > margin.total_seconds():
                results.update(_record(maker, done))
                done = []
                _renew(maker, [b.post_id for b in begun[n:]], margin)
                leased_at = time.monotonic()
            if n:
                _mark_started(marks, current.attempt.id)
            done.append((current, _attempt(current)))
    results.update(_record(maker, done))
    return results


def _renew(maker: sessionmaker[Session], post_ids: list[int], margin: timedelta) -> None:
    with maker.begin() as session:
        session.execute(
            update(Post)
            .where(Post.id.in_(post_ids), Post.status == "publishing")
            .values(lease_until=utcnow() + lease() + margin)
            .execution_options(synchronize_session=False)
        )


def _mark_started(marks: Session, attempt_id: int) -> None:
    """The write-ahead mark, committed (autocommit) before the call: from now on the post may be out."""
    marks.execute(
        update(PostAttempt)
        .where(PostAttempt.id == attempt_id)
        .values(outcome="started", started_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _attempt(begun: _Begun) -> _Outcome:
    """Call the outlet, outside any transaction, and classify what came back."""
    channel, post_id = begun.channel, begun.post_id
    try:
        result = _call(channel, begun.view, begun.payload, begun.key, begun.external_id if begun.polling else None,
                       begun.look_first)  # fmt: skip
        if result is None:
            return _Outcome(
                "unconfirmed",
                f"{channel.name} cannot look up an earlier attempt that may have gone out; check the outlet and "
                f"run `weishang posts resolve {post_id} --published URL` or `--retry`",
            )
        if result.status == "pending":
            return _Outcome("pending", delay=result.poll_after, result=result)
        return _Outcome("published", result=result)
    except RateLimited as exc:
        return _Outcome("rate-limited", str(exc), max(exc.retry_after, 1.0))
    except UnknownOutcome as exc:
        return _Outcome("unknown", str(exc), backoff(begun.attempts))
    except TransientError as exc:
        return _Outcome("transient", str(exc), backoff(begun.attempts))
    except AuthExpired as exc:
        fix = "connect" if channel.uses_oauth else "check"
        return _Outcome("failed", f"{exc} — reconnect the account: `weishang account {fix} {begun.view.name}`")
    except PermanentError as exc:
        return _Outcome("failed", str(exc))
    except Exception as exc:  # a plugin bug or an unmapped library error: retry, boundedly
        return _Outcome("unknown", f"{type(exc).__name__}: {exc}", backoff(begun.attempts))


def _call(
    channel: Channel,
    view: accounts.Account,
    payload: dict[str, Any],
    key: str,
    poll_id: str | None,
    look_first: bool,
) -> PublishResult | None:
    if poll_id is not None:
        return channel.poll(view, poll_id)
    if look_first:
        if not channel.supports_lookup:
            return None
        try:
            found = channel.lookup(view, key)
        except PermanentError as exc:  # the lookup failed, not the post: it may still be out there
            raise UnknownOutcome(f"could not look up the earlier attempt: {exc}") from exc
        if found is not None:
            return found
    try:
        return channel.publish(view, payload, key)
    except AuthExpired:
        if not channel.refresh(view):  # refresh once, then give up
            raise
        return channel.publish(view, payload, key)


def _record(maker: sessionmaker[Session], done: list[tuple[_Begun, _Outcome]]) -> dict[int, float | None]:
    """Write the outcomes of finished calls, all in one transaction."""
    if not done:
        return {}
    now = utcnow()
    with maker.begin() as session:
        loaded = {
            post.id: (post, account)
            for post, account in session.execute(
                select(Post, OutletAccount)
                .join(OutletAccount, OutletAccount.id == Post.account_id)
                .where(Post.id.in_([begun.post_id for begun, _ in done]))
                .order_by(Post.id)
                .with_for_update(of=Post)
            )
        }
        session.execute(
            update(PostAttempt),
            [
                {"id": begun.attempt.id, "finished_at": now, "outcome": outcome.outcome, "message": outcome.detail}
                for begun, outcome in done
            ],
        )
        results = {}
        for begun, outcome in done:
            post, account = loaded[begun.post_id]
            if begun.view.state != account.state:
                account.state = dict(begun.view.state)
            results[post.id] = _settle(session, post, account.channel, begun, outcome, now)
        return results


def _settle(
    session: Session, post: Post, channel_name: str, begun: _Begun, outcome: _Outcome, now: datetime
) -> float | None:
    """Move one post on from its attempt's outcome; seconds until its next step, or None when final."""
    if post.status != "publishing":
        return None  # resolved by hand meanwhile
    detail, delay, result = outcome.detail, outcome.delay, outcome.result
    post.updated_at, post.lease_until = now, None
    if result is not None:
        post.external_id = result.external_id
        post.external_url = result.url or post.external_url
    if outcome.outcome == "published":
        post.status, post.reason, post.published_at = "published", None, now
        emit_after_commit(
            session,
            "post_published",
            post_id=post.id,
            channel=channel_name,
            external_url=post.external_url,
        )
        return None
    if outcome.outcome == "pending":
        polls = (
            session.scalar(select(func.count()).where(PostAttempt.post_id == post.id, PostAttempt.outcome == "pending"))
            or 0
        )
        if polls > MAX_POLLS:
            return _fail(session, post, channel_name, "the outlet never confirmed the post", now)
        post.lease_until = now + timedelta(seconds=delay or 5)
        return delay
    if outcome.outcome == "unconfirmed":
        post.status, post.reason = "unconfirmed", detail
        return None
    if outcome.outcome == "failed":
        return _fail(session, post, channel_name, detail or "failed", now)
    if begun.polling:  # a failed poll: ask again later, the post itself went out
        post.lease_until = now + timedelta(seconds=delay or 5)
        return delay
    if begun.attempts >= max_attempts():
        if _may_have_gone_out(session, post):  # failed would be a guess: it may be published
            post.status = "unconfirmed"
            post.reason = (
                f"gave up after {begun.attempts} attempts ({detail}) and an earlier one may have gone out: check "
                f"the outlet and run `weishang posts resolve {post.id} --published URL` or `--retry`"
            )
            return None
        return _fail(session, post, channel_name, f"gave up after {begun.attempts} attempts: {detail}", now)
    post.status, post.reason = "queued", f"retrying: {detail}"
    post.next_attempt_at = now + timedelta(seconds=delay or 1)
    return delay


def _fail(session: Session, post: Post, channel: str, reason: str, now: datetime) -> None:
    post.status, post.reason, post.lease_until = "failed", reason, None
    emit_after_commit(session, "post_failed", post_id=post.id, channel=channel, reason=reason)
    return None


def resolve(session: Session, post_id: int, published_url: str | None, retry: bool) -> Post:
    """The seller settles an unconfirmed post: it was published (at URL), or it should be sent again."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"post: no post {post_id}")
    if post.status not in ("unconfirmed", "failed"):
        raise UserError(f"post {post_id}: it is {post.status}; only unconfirmed or failed posts are resolved")
    if published_url == retry:
        raise UserError("give --published URL or --retry")
    if published_url:
        post.status, post.external_url, post.reason, post.published_at = (
            "published",
            published_url,
            None,
            utcnow(),
        )
    else:
        session.add(PostAttempt(post_id=post.id, outcome="resolved", finished_at=utcnow()))
        post.status, post.reason, post.attempts, post.next_attempt_at = "queued", None, 0, None
    session.flush()
    return post


def batches(session: Session, post_ids: list[int]) -> list[list[int]]:
    """How a runner groups posts into steps. A fan-out of a few posts goes one step per post, so they all
    start at once; one of thousands goes in batches of up to BATCH_MAX posts of one channel, which share
    their database round trips (:func:`step_many`) while a slow outlet holds up only its own batches."""
    by_channel: dict[str, list[int]] = {}
    query = (
        select(Post.id, OutletAccount.channel)
        .join(OutletAccount, OutletAccount.id == Post.account_id)
        .where(Post.id.in_(post_ids))
        .order_by(Post.id)
    )
    for post_id, channel in session.execute(query):
        by_channel.setdefault(channel, []).append(post_id)
    groups = []
    for ids in by_channel.values():
        size = max(1, min(BATCH_MAX, len(ids) // BATCH_FROM))
        groups += [ids[n : n + size] for n in range(0, len(ids), size)]
    return groups


def due_posts(session: Session, now: datetime, grace: timedelta = timedelta(0)) -> list[int]:
    """Posts a runner should step now: queued and due, or publishing past their lease (stuck)."""
    cutoff = now - grace
    due_at = func.coalesce(Post.next_attempt_at, Post.scheduled_at, Post.updated_at)
    queued = (Post.status == "queued") & (due_at <= cutoff)
    stuck = (Post.status == "publishing") & (Post.lease_until <= cutoff)
    return list(session.scalars(select(Post.id).where(queued | stuck).order_by(Post.id)))


def as_dict(session: Session, post: Post) -> dict[str, Any]:
    product = session.get_one(Product, post.product_id)
    account = session.get_one(OutletAccount, post.account_id)
    poster = session.get_one(Identity, post.poster_id)
    return {
        "id": post.id,
        "sku": product.sku,
        "account": account.name,
        "channel": account.channel,
        "poster": poster.handle,
        "status": post.status,
        "attempts": post.attempts,
        "external_id": post.external_id,
        "url": post.external_url,
        "reason": post.reason,
        "day": post.local_day,
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
    }
