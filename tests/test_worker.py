"""The real path: Redis, `weishang worker` processes, an emulator failing often, and a worker killed."""

from __future__ import annotations

import collections
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.channel_kit import registered
from tests.fixtures import PrivatePostgres, PrivateRedis, Services
from weishang_core import accounts, catalog, distribution
from weishang_core.catalog import ProductInput
from weishang_core.models import OutletAccount, Post
from weishang_core.scaffold import new_plugin

WEISHANG = str(Path(sys.executable).with_name("weishang"))
POSTS = 200


@pytest.fixture(scope="module")
def installed_kit(tmp_path_factory: pytest.TempPathFactory):
    """A scaffolded channel installed into a folder that worker processes get on their PYTHONPATH."""
    root = tmp_path_factory.mktemp("worker-kit")
    target = new_plugin("fanout", root)
    site = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(target),
        ],
        check=True,
        timeout=300,
    )
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    module = importlib.import_module("weishang_fanout")
    return site, module, importlib.import_module("weishang_fanout.testing")


@pytest.fixture
def fanout(installed_kit, request: pytest.FixtureRequest, redis_url: str, tmp_path: Path):
    """200 outlet accounts on one flaky emulator, one product, and a way to start workers. On the shared
    PostgreSQL, or on a private cluster when the test asks for one (to restart it)."""
    private = "private_postgres" in request.fixturenames
    pg_url: str = request.getfixturevalue("private_postgres").url if private else request.getfixturevalue("pg_url")
    site, module, testing = installed_kit
    emulator = testing.FanoutEmulator(fail_rate=0.3, seed=11).start()
    services = Services(pg_url, tmp_path / "home")
    with registered(module), services.maker.begin() as session:
        catalog.add(session, services.settings, "KIWI", ProductInput(title="紅心獼猴桃", price="39.90"))
        for n in range(POSTS):
            accounts.add(
                session, "fanout", f"acct-{n:03d}", None, {"api_base": emulator.base_url, "token": emulator.token}
            )
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "WEISHANG_DATABASE_URL": pg_url,
        "WEISHANG_BROKER_URL": redis_url,
        "WEISHANG_HOME": str(tmp_path / "home"),
        "WEISHANG_RETRY_BASE": "0.05",
        "WEISHANG_MAX_ATTEMPTS": "15",
        # The lease must outlast any one outlet call, or a slow call and its takeover both post (the
        # invariant distribution.lease() states); under two loaded workers on two cores 4 s was too short.
        "WEISHANG_LEASE_SECONDS": "12",
        "WEISHANG_RECONCILE_GRACE": "1",
        "WEISHANG_RECONCILE_EVERY": "2",
        "WEISHANG_VISIBILITY_TIMEOUT": "30",
    }
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker(*extra: str) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [WEISHANG, "worker", "--concurrency", "8", "--loglevel", "WARNING", *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        workers.append(process)
        return process

    yield services, emulator, env, start_worker
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    emulator.stop()


def counts(services) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with services.maker() as session:
        return dict(session.execute(select(Post.status, func.count()).group_by(Post.status)).all())


def wait_until(services, condition, timeout: float = 240) -> dict[str, int]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = counts(services)
        if condition(now):
            return now
        time.sleep(0.25)
    raise AssertionError(f"timed out; posts by status: {counts(services)}")


def distribute(env: dict[str, str]) -> None:
    result = subprocess.run(
        [WEISHANG, "distribute", "KIWI", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def assert_exactly_once(services, emulator) -> None:  # type: ignore[no-untyped-def]
    per_key = collections.Counter(post["key"] for post in emulator.posts)
    assert len(per_key) == POSTS
    assert max(per_key.values()) == 1, [k for k, n in per_key.items() if n > 1]
    with services.maker() as session:
        keys = set(session.scalars(select(Post.idempotency_key)))
        assert set(per_key) == keys
        assert session.scalar(select(func.count()).select_from(OutletAccount)) == POSTS


def sessions_opened(services) -> int:  # type: ignore[no-untyped-def]
    """Connections ever opened to the test database (each one a new PostgreSQL server process)."""
    with services.maker() as session:
        return session.scalar(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))


def test_two_hundred_posts_through_a_flaky_outlet_end_published_exactly_once(fanout) -> None:
    services, emulator, env, start_worker = fanout
    distribute(env)
    assert counts(services) == {"queued": POSTS}
    before = sessions_opened(services)
    workers = [start_worker(), start_worker()]
    wait_until(services, lambda c: c.get("published", 0) == POSTS)
    assert_exactly_once(services, emulator)
    failures = sum(1 for r in emulator.received if r.method == "POST") - POSTS
    assert failures > 30, "the emulator should have failed a good share of the calls"
    for worker in workers:  # a server process reports its statistics when it ends
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    time.sleep(0.5)
    # Each worker keeps a connection per publishing thread (8) and two more, and reuses them for
    # every step of the 200 posts and their retries, instead of opening one per step.
    assert sessions_opened(services) - before <= 2 * (8 + 2)


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(fanout) -> None:
    services, emulator, env, start_worker = fanout
    emulator.latency = 0.05
    distribute(env)
    first = start_worker()
    wait_until(services, lambda c: c.get("published", 0) >= 40)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    stopped_at = counts(services)
    assert stopped_at.get("published", 0) < POSTS
    start_worker("--beat")  # the schedule re-enqueues what the dead worker held
    wait_until(services, lambda c: c.get("published", 0) == POSTS)
    assert_exactly_once(services, emulator)
    with services.maker() as session:
        assert distribution.due_posts(session, distribution.utcnow()) == []


def test_the_beat_schedule_settles_commissions(pg_url: str, redis_url: str, tmp_path: Path) -> None:
    from datetime import timedelta

    from weishang_core import identities, ledger, orders, referrals
    from weishang_core.models import utcnow

    services = Services(pg_url, tmp_path / "home")
    with services.maker.begin() as session:
        catalog.add(
            session, services.settings, "KIWI", ProductInput(title="t", price="100.00", stock=5, commission="L1=10%")
        )
        seller_link = referrals.create_link(session, identities.add_reseller(session, "A", "老李"))
        order = orders.create(session, services.settings, "KIWI", 1, "buyer", ref=seller_link.code)
        orders.pay(session, services.settings, order)
        orders.deliver(session, services.settings, order, now=utcnow() - timedelta(days=60))
    env = {
        **os.environ,
        "WEISHANG_DATABASE_URL": pg_url,
        "WEISHANG_BROKER_URL": redis_url,
        "WEISHANG_HOME": str(tmp_path / "home"),
        "WEISHANG_SETTLE_EVERY": "1",
    }
    process = subprocess.Popen(
        [WEISHANG, "worker", "--beat", "--loglevel", "WARNING"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with services.maker() as session:
                if ledger.balances(session).available == 1000:
                    break
            time.sleep(0.25)
        with services.maker() as session:
            assert ledger.balances(session).as_dict() == {"pending": "0.00", "available": "10.00", "paid": "0.00"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_redis_restarted_empty_mid_run_loses_nothing(private_redis: PrivateRedis, fanout) -> None:
    """Redis keeps nothing on disk: killed mid-run, it refuses connections for a while and comes back with
    an empty queue. The workers reconnect, and the database, the source of truth, gets every post out once."""
    services, emulator, env, start_worker = fanout
    env["WEISHANG_BROKER_URL"] = private_redis.url
    emulator.latency = 0.05
    distribute(env)
    start_worker("--beat")
    start_worker()  # each worker's sweeper steps posts left queued or publishing, from the database
    wait_until(services, lambda c: c.get("published", 0) >= 30)
    private_redis.restart(down_seconds=2.0)
    assert counts(services).get("published", 0) < POSTS, "the restart came too late to prove anything"
    wait_until(services, lambda c: c.get("published", 0) == POSTS)
    assert_exactly_once(services, emulator)


def test_posts_whose_messages_never_arrive_go_out_once_without_the_beat(fanout) -> None:
    """Every message is lost before a worker sees it, and no beat runs: the workers' sweepers find the posts
    in the database and publish each exactly once (a consumer that stops receiving looks the same)."""
    import redis

    services, emulator, env, start_worker = fanout
    distribute(env)
    redis.Redis.from_url(env["WEISHANG_BROKER_URL"]).flushdb()
    start_worker()
    start_worker()
    wait_until(services, lambda c: c.get("published", 0) == POSTS)
    assert_exactly_once(services, emulator)


def test_postgresql_restarted_mid_run_loses_and_duplicates_nothing(private_postgres: PrivatePostgres, fanout) -> None:
    """PostgreSQL crashes and restarts while the workers publish: they reconnect, and every post still ends
    exactly once — what a worker had committed survives, what it had not is done again, never twice."""
    services, emulator, env, start_worker = fanout
    emulator.latency = 0.05
    distribute(env)
    start_worker("--beat")
    start_worker()
    wait_until(services, lambda c: c.get("published", 0) >= 30)
    private_postgres.restart(down_seconds=2.0)
    assert counts(services).get("published", 0) < POSTS, "the outage came too late to prove anything"
    wait_until(services, lambda c: c.get("published", 0) == POSTS)
    assert_exactly_once(services, emulator)


def test_every_kind_of_outlet_fault_ends_each_post_once_or_failed_for_a_reason(fanout) -> None:
    """30% transient errors, plus dropped replies, quotas and permanent refusals, in one run."""
    services, emulator, env, start_worker = fanout
    emulator.inject("drop_reply", 25)  # these go first: the post is made, the reply is lost
    emulator.inject("rate_limited", 15)
    emulator.inject("permanent", 5)
    distribute(env)
    start_worker("--beat")
    start_worker()
    wait_until(services, lambda c: c.get("published", 0) + c.get("failed", 0) == POSTS)
    per_key = collections.Counter(post["key"] for post in emulator.posts)
    assert max(per_key.values()) == 1, [key for key, n in per_key.items() if n > 1]
    with services.maker() as session:
        rows = session.execute(select(Post.idempotency_key, Post.status, Post.reason)).all()
    published = {key for key, status, _ in rows if status == "published"}
    failed = [(key, reason) for key, status, reason in rows if status == "failed"]
    assert published == set(per_key)  # published here exactly when it is on the outlet
    assert 1 <= len(failed) <= 5 and all("rejected" in (reason or "") for _, reason in failed)
    assert not {key for key, _ in failed} & set(per_key)  # a failed post is not on the outlet
