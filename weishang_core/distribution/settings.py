"""The knobs and the fixed vocabulary of publishing: how long a lease lasts, how often to retry, which
statuses are final or count toward the daily cap. Read from the environment at each use, so a test or an
operator can change them without a restart of anything but the next step.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta

from weishang_core.statuses import PostStatus

FINAL = (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.REFUSED, PostStatus.UNCONFIRMED, PostStatus.CANCELLED)
ACTIVE = (
    PostStatus.QUEUED,
    PostStatus.PUBLISHING,
    PostStatus.PUBLISHED,
    PostStatus.UNCONFIRMED,
)  # these count toward the daily cap
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
