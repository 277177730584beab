"""Clicks are written in batches, off the landing request's path, so a viral post costs one redirect each.

The landing page answers at once and hands the click to a buffer; a background thread writes what has
gathered every ``FLUSH_EVERY`` seconds in one transaction through the core's set-based
``record_clicks`` (which deduplicates bursts and binds the visitors, a few statements per batch).
Placing an order first flushes this process's buffer, so a buyer who clicks and buys at once is still
attributed. If the database is unreachable the clicks stay buffered (up to ``MAX_PENDING``) and are
retried; the server flushes what is left when it stops.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from weishang_core import referrals
from weishang_core.config import Settings
from weishang_core.models import ReferralLink

FLUSH_EVERY = 0.2
BATCH = 5_000
MAX_PENDING = 100_000
log = logging.getLogger("weishang.webstore")


@dataclass(frozen=True)
class PendingClick:
    link_id: int
    visitor: str
    outlet: str | None
    ip: str | None
    user_agent: str | None
    at: datetime


class ClickBuffer:
    def __init__(self, maker: sessionmaker[Session], settings: Settings) -> None:
        self.maker = maker
        self.settings = settings
        self.pending: deque[PendingClick] = deque()
        self.lock = threading.Lock()  # one flush at a time, so batches keep their order
        self.dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, click: PendingClick) -> None:
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1  # the database has been away for long: shed load rather than memory
            return
        self.pending.append(click)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self.lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="weishang-clicks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self.flush()

    def flush(self) -> int:
        """Write every buffered click now, ``BATCH`` to a transaction; returns how many were written."""
        written = 0
        with self.lock:
            while self.pending:
                batch = [self.pending.popleft() for _ in range(min(BATCH, len(self.pending)))]
                try:
                    self._write(batch)
                except Exception:  # the database is away: keep the clicks and try again next time
                    log.exception("could not write %d clicks; they stay buffered", len(batch))
                    self.pending.extendleft(reversed(batch))
                    break
                written += len(batch)
        return written

    def _write(self, batch: list[PendingClick]) -> None:
        with self.maker.begin() as session:
            ids = {click.link_id for click in batch}
            links = {link.id: link for link in session.scalars(select(ReferralLink).where(ReferralLink.id.in_(ids)))}
            referrals.record_clicks(session, self.settings, [
                referrals.NewClick(links[c.link_id], c.visitor, c.outlet, c.ip, c.user_agent, c.at)
                for c in batch if c.link_id in links
            ])  # fmt: skip

    def close(self) -> None:
        self._stop.set()
        self.flush()
