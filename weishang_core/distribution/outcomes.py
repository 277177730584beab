"""The post state machine after a call: record the outcomes of a batch's calls in one transaction and
move each post on (published, polled again, retried, failed or unconfirmed); and the seller's side of
it: resolving an unconfirmed post by hand, and a post as the seller sees it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from weishang_core.distribution.attempts import _Begun, _Outcome
from weishang_core.distribution.doubt import _may_have_gone_out
from weishang_core.distribution.settings import MAX_POLLS, max_attempts
from weishang_core.errors import NotFound, UserError
from weishang_core.events import emit_after_commit
from weishang_core.models import Identity, OutletAccount, Post, PostAttempt, Product, utcnow
from weishang_core.statuses import PostStatus


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
    if post.status != PostStatus.PUBLISHING:
        return None  # resolved by hand meanwhile
    detail, delay, result = outcome.detail, outcome.delay, outcome.result
    post.updated_at, post.lease_until = now, None
    if result is not None:
        post.external_id = result.external_id
        post.external_url = result.url or post.external_url
    if outcome.outcome == "published":
        post.status, post.reason, post.published_at = PostStatus.PUBLISHED, None, now
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
            _fail(session, post, channel_name, "the outlet never confirmed the post", now)
            return None
        post.lease_until = now + timedelta(seconds=delay or 5)
        return delay
    if outcome.outcome == "unconfirmed":
        post.status, post.reason = PostStatus.UNCONFIRMED, detail
        return None
    if outcome.outcome == "failed":
        _fail(session, post, channel_name, detail or "failed", now)
        return None
    if begun.polling:  # a failed poll: ask again later, the post itself went out
        post.lease_until = now + timedelta(seconds=delay or 5)
        return delay
    if begun.attempts >= max_attempts():
        if _may_have_gone_out(session, post):  # failed would be a guess: it may be published
            post.status = PostStatus.UNCONFIRMED
            post.reason = (
                f"gave up after {begun.attempts} attempts ({detail}) and an earlier one may have gone out: check "
                f"the outlet and run `weishang posts resolve {post.id} --published URL` or `--retry`"
            )
            return None
        _fail(session, post, channel_name, f"gave up after {begun.attempts} attempts: {detail}", now)
        return None
    post.status, post.reason = PostStatus.QUEUED, f"retrying: {detail}"
    post.next_attempt_at = now + timedelta(seconds=delay or 1)
    return delay


def _fail(session: Session, post: Post, channel: str, reason: str, now: datetime) -> None:
    post.status, post.reason, post.lease_until = PostStatus.FAILED, reason, None
    emit_after_commit(session, "post_failed", post_id=post.id, channel=channel, reason=reason)


def resolve(session: Session, post_id: int, published_url: str | None, retry: bool) -> Post:
    """The seller settles an unconfirmed post: it was published (at URL), or it should be sent again."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"post: no post {post_id}")
    if post.status not in (PostStatus.UNCONFIRMED, PostStatus.FAILED):
        raise UserError(f"post {post_id}: it is {post.status}; only unconfirmed or failed posts are resolved")
    if published_url == retry:
        raise UserError("give --published URL or --retry")
    if published_url:
        post.status, post.external_url, post.reason, post.published_at = (
            PostStatus.PUBLISHED,
            published_url,
            None,
            utcnow(),
        )
    else:
        session.add(PostAttempt(post_id=post.id, outcome="resolved", finished_at=utcnow()))
        post.status, post.reason, post.attempts, post.next_attempt_at = PostStatus.QUEUED, None, 0, None
    session.flush()
    return post


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
