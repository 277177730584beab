"""Large fan-outs are published in batches (``distribution.step_many``, the ``weishang.publish_many`` task):
one claim and one record for many posts, the calls one after another, each with its own write-ahead
mark. A batch must end exactly as its posts stepped one by one, and a worker killed mid-batch must leave
the posts it never sent free of doubt."""

from __future__ import annotations

import importlib
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from tests.channel_kit import load_scaffold, registered
from weishang_core import accounts, catalog, distribution, hookimpl, identities
from weishang_core.catalog import ProductInput
from weishang_core.models import Post, PostAttempt, utcnow

RESELLERS = 8


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory):
    module = load_scaffold(tmp_path_factory.mktemp("batchkit"), "batchout")
    return module, importlib.import_module(f"{module.__name__}.testing")


class Killed(BaseException):
    """What a SIGKILL looks like from inside the batch: nothing after it runs, not even an except."""


@pytest.fixture
def fanout(kit, services):
    """Eight resellers with one account each on one emulator, and one queued post each."""
    module, testing = kit
    emulator = testing.BatchoutEmulator().start()
    seen: dict[str, str] = {}  # idempotency key -> its attempt's committed outcome when the call began
    kill_at: list[int] = []
    slow: dict[str, Any] = {"seconds": 0.0, "lease_left": [], "published": []}  # per call, in order

    class Watched(module.BatchoutChannel):
        name = "watched"

        def publish(self, account, payload, idempotency_key):  # type: ignore[no-untyped-def]
            with services.maker() as other:  # another connection: sees only what is committed
                seen[idempotency_key] = other.scalar(
                    select(PostAttempt.outcome)
                    .join(Post, Post.id == PostAttempt.post_id)
                    .where(Post.idempotency_key == idempotency_key)
                    .order_by(PostAttempt.id.desc())
                    .limit(1)
                )
                post = other.scalars(select(Post).where(Post.idempotency_key == idempotency_key)).one()
                slow["lease_left"].append((post.lease_until - utcnow()).total_seconds())
                slow["published"].append(other.scalar(select(func.count()).where(Post.status == "published")))
            if kill_at and len(seen) == kill_at[0]:
                raise Killed
            time.sleep(slow["seconds"])
            return super().publish(account, payload, idempotency_key)

    class Plugin:
        @hookimpl
        def register_channels(self, register):  # type: ignore[no-untyped-def]
            register(Watched())

    with registered(Plugin()):
        with services.maker.begin() as session:
            catalog.add(session, services.settings, "KIWI", ProductInput(title="紅心獼猴桃", price="39.90"))
            for n in range(RESELLERS):
                person = identities.add_reseller(session, f"r{n}", "老李")
                options = {"api_base": emulator.base_url, "token": emulator.token}
                accounts.add(session, "watched", f"r{n}-shop", person.handle, options)
        with services.maker.begin() as session:
            ids = [
                p.id for n in range(RESELLERS) for p in distribution.plan(session, services.settings, "KIWI", f"r{n}")
            ]
        yield services, emulator, ids, seen, kill_at, slow
    emulator.stop()


def statuses(services, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    with services.maker() as session:
        return list(session.scalars(select(Post.status).where(Post.id.in_(ids)).order_by(Post.id)))


def test_a_batch_publishes_each_post_once_each_marked_started_before_its_call(fanout) -> None:
    services, emulator, ids, seen, _, _ = fanout
    results = distribution.step_many(services.maker, services.settings, ids)
    assert results == dict.fromkeys(ids)  # all final
    assert statuses(services, ids) == ["published"] * RESELLERS
    assert sorted(Counter(post["key"] for post in emulator.posts).values()) == [1] * RESELLERS
    assert list(seen.values()) == ["started"] * RESELLERS  # committed before the call, every one
    with services.maker() as session:
        outcomes = list(session.scalars(select(PostAttempt.outcome).where(PostAttempt.post_id.in_(ids))))
    assert outcomes == ["published"] * RESELLERS


def test_a_worker_killed_mid_batch_looks_up_only_what_it_may_have_sent(fanout) -> None:
    services, emulator, ids, seen, kill_at, _ = fanout
    kill_at.append(3)  # two posts sent but not recorded, the third killed in its call, five never reached
    with pytest.raises(Killed):
        distribution.step_many(services.maker, services.settings, ids)
    assert len(emulator.posts) == 2
    assert statuses(services, ids) == ["publishing"] * RESELLERS
    kill_at.clear()
    with services.maker.begin() as session:  # the leases run out, as before the reconciler takes them over
        session.execute(update(Post).where(Post.id.in_(ids)).values(lease_until=utcnow() - timedelta(seconds=1)))
    lookups_before = sum(1 for r in emulator.calls("/v1/posts") if r.method == "GET")
    for post_id in ids:
        assert distribution.step(services.maker, services.settings, post_id) is None
    assert statuses(services, ids) == ["published"] * RESELLERS
    assert sorted(Counter(post["key"] for post in emulator.posts).values()) == [1] * RESELLERS
    lookups = sum(1 for r in emulator.calls("/v1/posts") if r.method == "GET") - lookups_before
    assert lookups == 3  # the two sent and the one killed in its call; not the five never reached


def test_large_fan_outs_go_in_batches_small_ones_post_by_post(fanout, monkeypatch) -> None:
    services, _, ids, _, _, _ = fanout
    with services.maker() as session:
        assert distribution.batches(session, ids) == [[i] for i in ids]  # 8 posts: all start at once
        monkeypatch.setattr(distribution.queue, "BATCH_FROM", 2)  # as if these eight were a fan-out of thousands
        assert distribution.batches(session, ids) == [ids[:4], ids[4:]]


def test_a_slow_batch_records_what_is_done_and_renews_the_leases_ahead(fanout, monkeypatch) -> None:
    """Every call starts with at least a lease's worth of time left, however long the calls before it took,
    and what is done by then is recorded (so a takeover of an expired lease never finds it in doubt)."""
    services, emulator, ids, _, _, slow = fanout
    monkeypatch.setenv("WEISHANG_LEASE_SECONDS", "0.5")  # a quarter, 0.125 s, of margin for the calls ahead
    slow["seconds"] = 0.2
    assert distribution.step_many(services.maker, services.settings, ids) == dict.fromkeys(ids)
    assert statuses(services, ids) == ["published"] * RESELLERS
    assert sorted(Counter(post["key"] for post in emulator.posts).values()) == [1] * RESELLERS
    assert min(slow["lease_left"]) > 0.4, slow["lease_left"]  # without renewals the last would be long gone
    assert slow["published"] == list(range(RESELLERS))  # each call began with every earlier post recorded
