"""Moving posts forward: :func:`step` and :func:`step_many` are the body of every runner. A step claims
its posts under a lease, decides what each needs, calls the channel outside any transaction (looking an
earlier attempt up first when it may have gone out), and hands the outcomes to :mod:`.outcomes`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from weishang_core import accounts, referrals
from weishang_core.channels import Channel, PublishResult
from weishang_core.config import Settings
from weishang_core.distribution.attempts import Claimed, _Begun, _Outcome
from weishang_core.distribution.outcomes import _record
from weishang_core.distribution.planning import _Known, _refusal
from weishang_core.distribution.queue import _next_hourly_slot
from weishang_core.distribution.settings import FINAL, backoff, lease
from weishang_core.errors import AuthExpired, PermanentError, RateLimited, TransientError, UnknownOutcome
from weishang_core.models import Identity, OutletAccount, Post, PostAttempt, Product, utcnow
from weishang_core.plugins import get_channels
from weishang_core.statuses import PostStatus, ProductStatus


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
    waits = [t for t in (post.scheduled_at, post.next_attempt_at) if t and post.status == PostStatus.QUEUED]
    if post.status == PostStatus.PUBLISHING and post.lease_until:
        waits.append(post.lease_until)
    due = max(waits, default=now)
    if due > now:
        return (due - now).total_seconds()
    if product.status != ProductStatus.ACTIVE:
        known.leaves_the_count(post)
        post.status, post.reason, post.updated_at = PostStatus.CANCELLED, "the product was withdrawn", now
        return None
    channel = get_channels().get(account.channel)
    polling = post.status == PostStatus.PUBLISHING and post.external_id is not None
    look_first = not polling and post.id in known.doubtful
    if not polling:
        reason, payload = _refusal(session, settings, post, channel, account, post.id, known)
        if reason and not look_first:
            known.leaves_the_count(post)
            post.status, post.reason, post.updated_at = PostStatus.REFUSED, reason, now
            return None
        post.payload = payload or post.payload
        if channel is not None and channel.limits.hourly_posts:
            session.flush()  # the hourly count reads the posts this batch already set publishing
        slot = None if look_first or channel is None else _next_hourly_slot(session, channel, post, now)
        if slot is not None:
            post.status, post.next_attempt_at, post.updated_at = PostStatus.QUEUED, slot, now
            post.reason = (
                f"waiting: {channel.name} allows {channel.limits.hourly_posts} posts an hour per account; "  # type: ignore[union-attr]
                f"next slot {slot:%H:%M} UTC"
            )
            return (slot - now).total_seconds()
        post.attempts += 1
    assert channel is not None
    post.status, post.lease_until, post.updated_at = PostStatus.PUBLISHING, now + lease() + margin, now
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
            .where(Post.id.in_(post_ids), Post.status == PostStatus.PUBLISHING)
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
