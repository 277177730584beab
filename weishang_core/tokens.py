"""A token cache shared by every worker, for channels whose access tokens are rationed (WeChat).

With a broker configured the cache and its lock live in Redis, so workers on many machines share one
token; otherwise they live in the database (``cached_tokens``) behind a process lock, plus a PostgreSQL
advisory lock when the database is PostgreSQL. :meth:`TokenCache.get_or_fetch` re-checks under the lock,
so twenty workers that find the token missing at once make one token call between them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import text

from weishang_core.config import Settings, load_settings
from weishang_core.db import get_sessionmaker
from weishang_core.models import CachedToken, utcnow

Fetch = Callable[[], tuple[str, int]]  # returns (token, expires_in seconds)
_process_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


class TokenCache:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._redis = None
        if settings.broker_url and settings.broker_url.startswith(("redis://", "rediss://")):
            import redis

            self._redis = redis.Redis.from_url(settings.broker_url, socket_timeout=10)

    def get(self, key: str) -> tuple[str, datetime] | None:
        if self._redis is not None:
            raw = self._redis.get(f"weishang:token:{key}")
            if raw is None:
                return None
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            value, _, expires = text.rpartition("|")
            return value, datetime.fromisoformat(expires)
        with get_sessionmaker(self.settings.database_url)() as session:
            row = session.get(CachedToken, key)
            return (row.value, row.expires_at) if row else None

    def set(self, key: str, value: str, expires_at: datetime) -> None:
        if self._redis is not None:
            ttl = max(1, int((expires_at - utcnow()).total_seconds()))
            self._redis.set(f"weishang:token:{key}", f"{value}|{expires_at.isoformat()}", ex=ttl)
            return
        with get_sessionmaker(self.settings.database_url).begin() as session:
            session.merge(CachedToken(key=key, value=value, expires_at=expires_at))

    def delete(self, key: str) -> None:
        if self._redis is not None:
            self._redis.delete(f"weishang:token:{key}")
            return
        with get_sessionmaker(self.settings.database_url).begin() as session:
            row = session.get(CachedToken, key)
            if row is not None:
                session.delete(row)

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        if self._redis is not None:
            with self._redis.lock(f"weishang:lock:{key}", timeout=60, blocking_timeout=60):
                yield
            return
        with _guard:
            local = _process_locks.setdefault(key, threading.Lock())
        with local:
            maker = get_sessionmaker(self.settings.database_url)
            if maker.kw["bind"].dialect.name != "postgresql":
                yield
                return
            number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
            with maker() as session:
                session.execute(text("SELECT pg_advisory_lock(:n)"), {"n": number})
                try:
                    yield
                finally:
                    session.execute(text("SELECT pg_advisory_unlock(:n)"), {"n": number})
                    session.commit()

    def get_or_fetch(self, key: str, fetch: Fetch, margin: timedelta = timedelta(seconds=120)) -> str:
        """The cached token, or a fresh one when it is missing or within ``margin`` of expiring."""
        cached = self.get(key)
        if cached and cached[1] - utcnow() > margin:
            return cached[0]
        with self.lock(key):
            cached = self.get(key)  # another worker may have fetched it while this one waited
            if cached and cached[1] - utcnow() > margin:
                return cached[0]
            value, expires_in = fetch()
            self.set(key, value, utcnow() + timedelta(seconds=expires_in))
            return value


def shared_cache() -> TokenCache:
    return TokenCache(load_settings())
