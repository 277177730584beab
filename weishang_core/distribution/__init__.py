"""One click, every outlet: plan one post per outlet account, then publish each exactly once.

:func:`plan` runs in the caller's transaction: it checks the policies and writes the posts (a refusal is a
post too, with its reason). :func:`step` moves one post forward and is the body of every runner — the
in-process thread pool and the Celery task alike; :func:`step_many` does the same for a batch of a large
fan-out, sharing its round trips to the database. A step claims its posts under a lease, calls the
channel outside any transaction, and records the outcome; a post whose previous attempt ended without a
known outcome (a timeout, a dropped reply, a killed worker) is looked up on the outlet before it is sent
again, and a channel that cannot look up leaves it ``unconfirmed`` for the seller instead of guessing.

The modules, each importing only those before it: :mod:`.settings` (lease, retries, statuses),
:mod:`.attempts` (what a step hands on), :mod:`.doubt`, :mod:`.queue` (due posts, batches, hourly
slots), :mod:`.planning` (keys, content, caps, plan, preview), :mod:`.outcomes` (the post state
machine, resolve), :mod:`.publishing` (claim, lease, the outlet call). This package only re-exports.
"""

from __future__ import annotations

from weishang_core.distribution.outcomes import as_dict, resolve
from weishang_core.distribution.planning import content_for, idempotency_key, plan, posts_today, preview
from weishang_core.distribution.publishing import step, step_many
from weishang_core.distribution.queue import BATCH_FROM, BATCH_MAX, batches, due_posts
from weishang_core.distribution.settings import ACTIVE, FINAL, MAX_POLLS, backoff, lease, max_attempts
from weishang_core.models import utcnow

__all__ = [
    "ACTIVE",
    "BATCH_FROM",
    "BATCH_MAX",
    "FINAL",
    "MAX_POLLS",
    "as_dict",
    "backoff",
    "batches",
    "content_for",
    "due_posts",
    "idempotency_key",
    "lease",
    "max_attempts",
    "plan",
    "posts_today",
    "preview",
    "resolve",
    "step",
    "step_many",
    "utcnow",
]
