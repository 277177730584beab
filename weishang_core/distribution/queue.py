"""When posts are due and how runners group them: the due posts, batches of a large fan-out, and the
outlet's hourly posting limit that makes a post wait for its slot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core.channels import Channel
from weishang_core.models import OutletAccount, Post
from weishang_core.statuses import PostStatus

BATCH_MAX = 8  # posts a batch step publishes one after another
BATCH_FROM = 32  # posts on one channel a fan-out needs before they go in batches at all


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
            Post.account_id == post.account_id,
            Post.id != post.id,
            Post.status == PostStatus.PUBLISHING,
            Post.lease_until > now,
        )
    )
    if len(recent) + (in_flight or 0) < limit:
        return None
    oldest = min((t for t in recent if t is not None), default=now)
    return oldest + timedelta(hours=1) if recent else now + timedelta(minutes=1)


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
    queued = (Post.status == PostStatus.QUEUED) & (due_at <= cutoff)
    stuck = (Post.status == PostStatus.PUBLISHING) & (Post.lease_until <= cutoff)
    return list(session.scalars(select(Post.id).where(queued | stuck).order_by(Post.id)))
