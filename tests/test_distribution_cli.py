"""One-click distribution through the CLI, with a scaffolded plugin and its emulator, on both databases."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.channel_kit import EventLog, load_scaffold, registered
from weishang_core import hookimpl


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory):
    module = load_scaffold(tmp_path_factory.mktemp("kit"))
    return module, importlib.import_module(f"{module.__name__}.testing")


@pytest.fixture
def outlet(kit, store):
    """The seller's store with the test channel installed, two accounts on one emulator, and a kiwi."""
    module, testing = kit
    emulator = testing.TestoutEmulator().start()
    events = EventLog()
    with registered(module, events):
        store(
            "product",
            "add",
            "--sku",
            "KIWI",
            "--title",
            "紅心獼猴桃 5kg",
            "--price",
            "39.90",
            "--description",
            "老李的果園直送",
        )
        for name in ("laoli-a", "laoli-b"):
            store(
                "account",
                "add",
                "testout",
                "--name",
                name,
                "--option",
                f"api_base={emulator.base_url}",
                "--option",
                f"token={emulator.token}",
            )
        yield store, emulator, events
    emulator.stop()


def test_one_click_publishes_to_every_account_in_parallel(outlet) -> None:
    store, emulator, events = outlet
    posts = store.json("distribute", "KIWI", "--wait")
    assert [(p["account"], p["status"]) for p in posts] == [("laoli-a", "published"), ("laoli-b", "published")]
    assert all(p["url"].startswith(emulator.base_url) for p in posts)
    assert len(emulator.posts) == 2
    text = emulator.posts[0]["text"]
    assert "紅心獼猴桃 5kg" in text and "¥39.90" in text and "/r/" in text
    assert sorted(e[1]["post_id"] for e in events.events if e[0] == "post_published") == [1, 2]
    listed = store.json("posts")
    assert [p["status"] for p in listed] == ["published", "published"]
    assert "published" in store("posts").stdout


def test_a_double_click_publishes_nothing_twice(outlet) -> None:
    store, emulator, events = outlet
    store("distribute", "KIWI")
    again = store.json("distribute", "KIWI")
    assert [p["id"] for p in again] == [1, 2]
    assert len(emulator.posts) == 2 and len(emulator.calls("/v1/posts")) == 2
    assert len([e for e in events.events if e[0] == "post_published"]) == 2  # once per post


def test_the_fifth_post_of_the_day_is_refused(outlet) -> None:
    store, emulator, _ = outlet
    for n in range(2, 6):
        store("product", "add", "--sku", f"P{n}", "--title", f"產品 {n}", "--price", "10.00")
    for sku in ("KIWI", "P2", "P3", "P4"):
        store("distribute", sku, "--channel", "testout")
    fifth = store.json("distribute", "P5")
    assert {p["status"] for p in fifth} == {"refused"}
    assert fifth[0]["reason"].startswith("daily cap: 4 posts already on laoli-a")
    assert len(emulator.posts) == 8
    assert "daily cap" in store("posts", "--status", "refused").stdout


def test_a_payment_brag_is_refused_and_a_corrected_post_goes_out_the_same_day(outlet) -> None:
    store, emulator, _ = outlet
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store(
        "account",
        "add",
        "testout",
        "--name",
        "qin",
        "--owner",
        "勤妹子",
        "--option",
        f"api_base={emulator.base_url}",
        "--option",
        f"token={emulator.token}",
    )
    [brag] = store.json("distribute", "KIWI", "--as", "勤妹子", "--note", "今天又收錢了，曬單給大家看！")
    assert brag["status"] == "refused" and "content policy" in brag["reason"]
    assert emulator.posts == []
    [post] = store.json("distribute", "KIWI", "--as", "勤妹子", "--note", "軟了就能吃，孩子最愛")
    assert post["status"] == "published" and post["poster"] == "勤妹子"
    [sent] = emulator.posts
    assert "軟了就能吃，孩子最愛" in sent["text"]
    code = store.json("link", "create", "--reseller", "勤妹子")["code"]  # a new link: hers, not the seller's
    assert code not in sent["text"]
    from weishang_core.db import get_sessionmaker
    from weishang_core.models import ReferralLink

    with get_sessionmaker(store.url)() as session:
        hers = {link.code for link in session.query(ReferralLink).all()} - {code}
    assert any(f"/r/{c}" in sent["text"] for c in hers)


def test_outlet_faults_end_published_or_failed_with_the_reason(outlet, monkeypatch) -> None:
    store, emulator, events = outlet
    monkeypatch.setenv("WEISHANG_RETRY_BASE", "0.05")
    emulator.inject("transient", times=2)
    emulator.inject("permanent", times=1)
    posts = store.json("distribute", "KIWI")
    statuses = sorted(p["status"] for p in posts)
    assert statuses == ["failed", "published"]
    failed = next(p for p in posts if p["status"] == "failed")
    assert "rejected" in failed["reason"]
    assert ("post_failed", {"post_id": failed["id"], "reason": failed["reason"]}) in events.events


def test_a_lost_reply_is_looked_up_instead_of_posting_twice(outlet, monkeypatch) -> None:
    store, emulator, _ = outlet
    monkeypatch.setenv("WEISHANG_RETRY_BASE", "0.05")
    emulator.inject("drop_reply")
    posts = store.json("distribute", "KIWI", "--channel", "testout")
    assert [p["status"] for p in posts] == ["published", "published"]
    assert len(emulator.posts) == 2  # the dropped reply's post was found, not made again
    methods = sorted(r.method for r in emulator.calls("/v1/posts"))
    assert methods == ["GET", "POST", "POST"]  # two posts and one lookup; never a third POST


def test_a_channel_that_cannot_look_up_leaves_the_post_unconfirmed(kit, outlet, monkeypatch) -> None:
    store, emulator, _ = outlet
    module, _testing = kit
    monkeypatch.setenv("WEISHANG_RETRY_BASE", "0.05")

    class Blind(module.TestoutChannel):
        name = "blind"
        display_name = "No lookup"
        supports_lookup = False

    class BlindPlugin:
        @hookimpl
        def register_channels(self, register):  # type: ignore[no-untyped-def]
            register(Blind())

    with registered(BlindPlugin()):
        store(
            "account",
            "add",
            "blind",
            "--name",
            "blind",
            "--option",
            f"api_base={emulator.base_url}",
            "--option",
            f"token={emulator.token}",
        )
        emulator.inject("drop_reply")
        [post] = store.json("distribute", "KIWI", "--channel", "blind")
        assert post["status"] == "unconfirmed" and "posts resolve" in post["reason"]
        assert "published" in store("posts", "resolve", str(post["id"]), "--published", "https://x/1").stdout
        assert store.json("posts", "--status", "published")[-1]["url"] == "https://x/1"
        assert "only unconfirmed or failed" in store.fails("posts", "resolve", str(post["id"]), "--retry")


def test_scheduled_posts_publish_current_material_and_withdrawn_products_cancel(outlet) -> None:
    store, emulator, _ = outlet
    store("product", "add", "--sku", "HONEY", "--title", "土蜂蜜", "--price", "68.00")
    out = store("distribute", "KIWI", "--at", "2020-01-01T09:00")  # in the past: due at once
    assert "published" in out.stdout
    store.json("distribute", "HONEY", "--at", "2099-01-01T09:00")
    assert {p["status"] for p in store.json("posts") if p["sku"] == "HONEY"} == {"queued"}
    assert "nothing is due" in store("posts", "run").stdout
    store("product", "update", "HONEY", "--title", "土蜂蜜 (新)", "--status", "withdrawn")
    from weishang_core.db import get_sessionmaker
    from weishang_core.models import Post

    with get_sessionmaker(store.url).begin() as session:  # time passes: the posts fall due
        for post in session.query(Post).filter(Post.status == "queued"):
            post.scheduled_at = post.created_at
    store("posts", "run")
    assert {p["status"] for p in store.json("posts") if p["sku"] == "HONEY"} == {"cancelled"}
    assert all("土蜂蜜" not in p["text"] for p in emulator.posts)


def test_distribute_errors_are_one_line(outlet) -> None:
    store, _, _ = outlet
    assert "no product" in store.fails("distribute", "NOPE")
    assert "nobody is called" in store.fails("distribute", "KIWI", "--as", "無名")
    assert "no outlet accounts on weibo" in store.fails("distribute", "KIWI", "--channel", "weibo")
    assert "ISO 8601" in store.fails("distribute", "KIWI", "--at", "tomorrow")


def test_a_fast_outlet_is_published_before_a_slow_one(kit, store) -> None:
    module, testing = kit
    slow, fast = testing.TestoutEmulator(latency=2.0).start(), testing.TestoutEmulator(latency=0.1).start()
    events = EventLog()
    try:
        with registered(module, events):
            store("product", "add", "--sku", "KIWI", "--title", "t", "--price", "1.00")
            for name, emulator in (("slow", slow), ("fast", fast)):
                store(
                    "account",
                    "add",
                    "testout",
                    "--name",
                    name,
                    "--option",
                    f"api_base={emulator.base_url}",
                    "--option",
                    f"token={emulator.token}",
                )
            posts = {p["account"]: p["id"] for p in store.json("distribute", "KIWI")}
        order = [e[1]["post_id"] for e in events.events if e[0] == "post_published"]
        assert order == [posts["fast"], posts["slow"]]
    finally:
        slow.stop()
        fast.stop()


def test_the_scaffold_passes_its_own_kit(tmp_path: Path) -> None:
    """`weishang plugin new` makes an installable distribution whose tests pass out of the box."""
    import os
    import subprocess
    import sys

    weishang = str(Path(sys.executable).with_name("weishang"))
    subprocess.run([weishang, "plugin", "new", "smoke-signal", "--dir", str(tmp_path)], check=True)
    target = tmp_path / "weishang-smoke-signal"
    site = tmp_path / "site"
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
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([weishang, "channels", "--json"], capture_output=True, text=True, env=env, check=True)
    assert '"smoke-signal"' in listed.stdout
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=target,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 passed" in result.stdout
