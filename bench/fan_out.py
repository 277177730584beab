"""Fan-out at scale: 1,000 resellers × 2 outlets = 2,000 posts through Redis and two ``weishang worker``
processes, against emulators answering in 50 ms; posts/s ÷ the same 2,000 HTTP calls made directly at
the same concurrency. Also the workers' resident memory. Measured at two concurrencies, since the ratio
depends on it: 8 threads a worker (``weishang worker``'s default) and 16.

Needs PostgreSQL (``WEISHANG_BENCH_PG``) and Redis (``WEISHANG_BENCH_REDIS``) on 127.0.0.1. The outlets
are the webhook channel of ``examples/custom_channel``, installed into a scratch folder the workers get
on their ``PYTHONPATH``, as a third-party plugin would be. Targets: ≥ 0.7; worker RSS ≤ 150 MB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

from bench.common import fresh_store, report
from weishang_core import accounts, catalog, distribution, identities, tasks
from weishang_core.catalog import ProductInput
from weishang_core.config import load_settings
from weishang_core.models import Post

PG = os.environ.get("WEISHANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("WEISHANG_BENCH_REDIS", "redis://127.0.0.1:6379/13")
RESELLERS, LATENCY, WORKERS = 1000, 0.05, 2
CONCURRENCIES = (8, 16)  # threads per worker: `weishang worker`'s default, and twice that
ROOT = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _direct(emulator, token: str, concurrency: int) -> float:  # type: ignore[no-untyped-def]
    """The limit: the same number of publish calls, straight at the emulator, at the workers' concurrency."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=WORKERS * concurrency))

    def call(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": f"direct-{n}"}
        answer = session.post(
            f"{emulator.base_url}/v1/posts", json={"text": f"direct {n}"}, headers=headers, timeout=30
        )
        answer.raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(WORKERS * concurrency) as pool:
        list(pool.map(call, range(RESELLERS * 2)))
    return time.perf_counter() - started


def run() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="weishang-fanout-"))
    site = scratch / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(site), str(ROOT / "examples/custom_channel")], check=True)  # fmt: skip
    sys.path.insert(0, str(site))
    from weishang_core.plugins import load_plugins

    load_plugins()
    for concurrency in CONCURRENCIES:
        _measure(site, concurrency)


def _measure(site: Path, concurrency: int) -> None:
    from weishang_webhook.testing import WebhookEmulator

    name = f"weishang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    emulators = [WebhookEmulator(latency=LATENCY).start() for _ in range(2)]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        settings, maker = fresh_store(url)
        with maker.begin() as session:
            catalog.add(session, settings, "KIWI", ProductInput(title="紅心獼猴桃", price="39.90"))
            for n in range(RESELLERS):
                person = identities.add_reseller(session, f"r{n:04d}", "老李")
                for number, emulator in enumerate(emulators):
                    options = {"api_base": emulator.base_url, "token": emulator.token}
                    accounts.add(session, "webhook", f"r{n:04d}-{number}", person.handle, options)
        direct = _direct(emulators[0], emulators[0].token, concurrency)
        env = {**os.environ, "PYTHONPATH": str(site), "WEISHANG_DATABASE_URL": url, "WEISHANG_BROKER_URL": REDIS,
               "WEISHANG_HOME": os.environ["WEISHANG_HOME"]}  # fmt: skip
        weishang = str(Path(sys.executable).with_name("weishang"))
        for _ in range(WORKERS):
            workers.append(subprocess.Popen([weishang, "worker", "--concurrency", str(concurrency), "--loglevel",
                                             "WARNING"], env=env, start_new_session=True))  # fmt: skip
        time.sleep(6)  # the workers connect to Redis and the database
        with maker.begin() as session:
            ids = [post.id for n in range(RESELLERS)
                   for post in distribution.plan(session, settings, "KIWI", f"r{n:04d}")]  # fmt: skip
        started = time.perf_counter()
        tasks.dispatch(load_settings(url, REDIS), ids)
        peak = 0.0
        while True:
            with maker() as session:
                done = session.scalar(select(func.count()).select_from(Post).where(Post.status == "published"))
                failed = session.scalar(select(func.count()).select_from(Post).where(Post.status == "failed"))
            peak = max([peak, *(_rss_mb(w.pid) for w in workers)])
            if done + failed >= len(ids):
                break
            time.sleep(0.1)
        through = time.perf_counter() - started
        report(
            f"fan_out --concurrency {concurrency}",
            f"{len(ids)} posts through Redis and {WORKERS} workers in {through:.1f} s ({len(ids) / through:.0f}/s, "
            f"{failed} failed); the same calls direct in {direct:.1f} s ({len(ids) / direct:.0f}/s); "
            f"largest worker RSS {peak:.0f} MB",
            direct / through,
            "≥ 0.7; RSS ≤ 150 MB",
        )
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        for emulator in emulators:
            emulator.stop()
        from weishang_core.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
