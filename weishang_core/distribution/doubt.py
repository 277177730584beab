"""Whether a post may already be on the outlet: an earlier attempt ended without a known outcome. A
retry looks such a post up before sending it again, and giving up on it leaves it ``unconfirmed``
instead of ``failed``.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core.models import Post, PostAttempt


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
