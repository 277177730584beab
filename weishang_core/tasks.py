"""Where publishing runs: threads in this process by default, Celery workers when a broker is set.

Both run the same :func:`weishang_core.distribution.step` (Celery runs a large fan-out's posts in batches
through :func:`~weishang_core.distribution.step_many`). Tasks take ids, re-read state, and are sent
only after the transaction that wrote their rows has committed. Celery delivers at least once
(``acks_late``, a killed worker's task comes back); ``step``'s lease and lookup make that exactly once on
the outlet. The database, not Redis, is the source of truth: every worker runs a :class:`Sweeper` that
steps the posts a lost message left behind straight from the database, so recovery needs neither the
beat nor a consumer that still receives (a Redis restarted empty, or Celery's consumer that stops
consuming after a reconnect, celery#8030/#8091). The beat settles commissions on a schedule.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from celery import Celery
from sqlalchemy.exc import OperationalError

from weishang_core import distribution, settlement
from weishang_core.config import Settings, load_settings
from weishang_core.db import get_sessionmaker
from weishang_core.models import utcnow

IN_PROCESS_MAX_WAIT = 60.0  # longer waits (quotas) are left to `weishang posts run` or a worker

app = Celery("weishang")
log = logging.getLogger("weishang.worker")


def configure(settings: Settings) -> Celery:
    """Point the Celery app at the configured broker; the result backend is not used."""
    visibility = int(os.environ.get("WEISHANG_VISIBILITY_TIMEOUT", "3600"))
    app.conf.update(
        broker_url=settings.broker_url,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility},
        worker_hijack_root_logger=False,
        beat_schedule={
            "settle": {
                "task": "weishang.settle",
                "schedule": float(os.environ.get("WEISHANG_SETTLE_EVERY", "600")),
            },
        },
    )
    return app


def _worker_settings() -> Settings:
    return load_settings()


# Delivered at least once, retried while the database is away; the step's lease and lookup do the rest.
PUBLISHING: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 20,
}


@app.task(name="weishang.publish", **PUBLISHING)
def publish_task(self, post_id: int) -> None:
    settings = _worker_settings()
    _again(post_id, distribution.step(get_sessionmaker(settings.database_url), settings, post_id))


@app.task(name="weishang.publish_many", **PUBLISHING)
def publish_many_task(self, post_ids: list[int]) -> None:
    """A batch of a large fan-out (distribution.batches); whatever needs another step goes on alone."""
    settings = _worker_settings()
    for post_id, delay in distribution.step_many(get_sessionmaker(settings.database_url), settings, post_ids).items():
        _again(post_id, delay)


def _again(post_id: int, delay: float | None) -> None:
    """Step the post again after DELAY seconds. A longer wait than half the broker's visibility timeout
    (an outlet's daily quota) is picked up by the reconciler when it is due."""
    visibility = app.conf.broker_transport_options.get("visibility_timeout", 3600)
    if delay is not None and delay < visibility / 2:
        publish_task.apply_async(args=[post_id], countdown=delay)


class Sweeper(threading.Thread):
    """Steps, from the database, the posts that are due or stuck longer than a grace period: a lost or
    never-delivered message, a Redis restarted empty, a killed worker's lease. Every worker runs one; the
    step's claim and lease make two sweepers (or a sweeper and a task) publish a post once. What needs
    another step later is enqueued when the broker answers, else found by the next sweep."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="weishang-sweeper", daemon=True)
        self.settings = settings
        self.every = float(os.environ.get("WEISHANG_RECONCILE_EVERY", "30"))
        self.grace = timedelta(seconds=float(os.environ.get("WEISHANG_RECONCILE_GRACE", "20")))
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every * random.uniform(0.75, 1.25)):  # workers spread their sweeps
            try:
                self.sweep()
            except Exception:  # the database is away: the next sweep tries again
                log.warning("sweeper: could not step due posts; trying again later", exc_info=True)

    def sweep(self) -> int:
        maker = get_sessionmaker(self.settings.database_url)
        with maker() as session:
            ids = distribution.due_posts(session, utcnow(), self.grace)
            groups = distribution.batches(session, ids) if ids else []
        if ids:
            log.warning("sweeper: %d post(s) were due without a message; stepping them", len(ids))
        for group in groups:
            for post_id, delay in distribution.step_many(maker, self.settings, group).items():
                with contextlib.suppress(Exception):  # kombu's OperationalError: the broker is away; next sweep
                    _again(post_id, delay)
        return len(ids)


@app.task(name="weishang.settle", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True)
def settle_task() -> dict[str, int]:
    settings = _worker_settings()
    with get_sessionmaker(settings.database_url).begin() as session:
        return settlement.settle(session, settings, utcnow())


def run_in_process(settings: Settings, post_ids: Iterable[int]) -> threading.Thread:
    """Step every post in parallel threads of this process, so one slow outlet delays no other."""
    ids = list(post_ids)
    maker = get_sessionmaker(settings.database_url)

    def drive(post_id: int) -> None:
        delay = distribution.step(maker, settings, post_id)
        while delay is not None and delay <= IN_PROCESS_MAX_WAIT:
            time.sleep(delay)
            delay = distribution.step(maker, settings, post_id)

    def run_all() -> None:
        if ids:
            with ThreadPoolExecutor(max_workers=min(32, len(ids))) as pool:
                list(pool.map(drive, ids))

    thread = threading.Thread(target=run_all, name="weishang-publish", daemon=True)
    thread.start()
    return thread


def dispatch(settings: Settings, post_ids: Iterable[int], eta: object | None = None) -> threading.Thread | None:
    """Send posts to be published: to Celery when a broker is configured, else to in-process threads."""
    ids = list(post_ids)
    if settings.broker_url:
        configure(settings)
        with get_sessionmaker(settings.database_url)() as session:
            groups = distribution.batches(session, ids)
        for group in groups:
            if len(group) == 1:
                publish_task.apply_async(args=group, eta=eta)
            else:
                publish_many_task.apply_async(args=[group], eta=eta)
        return None
    return run_in_process(settings, ids)
