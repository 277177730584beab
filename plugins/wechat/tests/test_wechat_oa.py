"""The Official Account channel against the WeChat emulator (spec §1), through the CLI where a user would."""

from __future__ import annotations

import re
import threading

import pytest
from weishang_wechat.api import WeChatClient
from weishang_wechat.oa import WeChatOfficialAccount
from weishang_wechat.testing import WeChatEmulator

from weishang_core.channels import Account
from weishang_core.testing import ChannelConformance
from weishang_core.tokens import TokenCache


@pytest.fixture
def emulator():
    with WeChatEmulator(publish_seconds=0.2) as running:
        yield running


def options(emulator: WeChatEmulator) -> list[str]:
    return [
        "--option",
        f"appid={emulator.appid}",
        "--option",
        f"secret={emulator.secret}",
        "--option",
        f"api_base={emulator.base_url}",
        "--option",
        "poll_every=0.1",
        "--option",
        "author=老李",
    ]


class TestOfficialAccountConformance(ChannelConformance):
    @pytest.fixture
    def channel(self):
        return WeChatOfficialAccount()

    @pytest.fixture
    def account(self, emulator, tmp_path, monkeypatch):
        monkeypatch.setenv("WEISHANG_HOME", str(tmp_path))
        monkeypatch.setenv("WEISHANG_DATABASE_URL", f"sqlite:///{tmp_path / 'tokens.db'}")
        monkeypatch.delenv("WEISHANG_BROKER_URL", raising=False)
        from weishang_core import migrate
        from weishang_core.db import get_engine

        migrate.upgrade(get_engine(f"sqlite:///{tmp_path / 'tokens.db'}"))
        return Account(
            "oa",
            "wechat-oa",
            {"appid": emulator.appid, "api_base": emulator.base_url, "poll_every": "0.1"},
            {"secret": emulator.secret},
        )


@pytest.fixture
def oa(store, emulator, tmp_path):
    png = tmp_path / "kiwi.png"
    from PIL import Image

    Image.new("RGB", (800, 600), (120, 180, 60)).save(png)
    second = tmp_path / "farm.png"
    Image.new("RGB", (800, 600), (200, 120, 60)).save(second)
    store(
        "product",
        "add",
        "--sku",
        "KIWI",
        "--title",
        "紅心獼猴桃 5kg 老李果園直送，軟了就能吃的好果子呀",
        "--price",
        "39.90",
        "--description",
        "老李從果園直接採購。\n每一箱都親手挑過。",
        "--image",
        str(png),
        "--image",
        str(second),
    )
    store("account", "add", "wechat-oa", "--name", "laoli-oa", *options(emulator))
    return store


def test_a_full_publish_follows_the_api(oa, emulator) -> None:
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "published"
    assert post["url"].startswith("https://mp.weixin.qq.com/s/")
    [material] = emulator.calls("/cgi-bin/material/add_material")
    assert material.query["type"] == "image" and "media" in material.files
    uploads = emulator.calls("/cgi-bin/media/uploadimg")
    assert len(uploads) == 2  # the second photo and the QR code
    [draft] = emulator.calls("/cgi-bin/draft/add")
    assert "\\u" not in draft.body.decode()  # UTF-8, not escaped (§1.0)
    [entry] = draft.json()["articles"]
    assert len(entry["title"]) <= 32 and entry["title"].startswith("紅心獼猴桃")
    assert entry["author"] == "老李" and len(entry["digest"]) <= 128
    assert entry["content_source_url"].startswith("http://127.0.0.1:8000/r/")
    assert entry["thumb_media_id"] in emulator.materials
    sources = re.findall(r'src="([^"]+)"', entry["content"])
    assert len(sources) == 2 and all(s.startswith("http://mmbiz.qpic.cn/") for s in sources)
    assert "閱讀原文" in entry["content"] and "老李從果園直接採購" in entry["content"]
    assert "http://127.0.0.1:8000" not in entry["content"]  # no outside links in the body
    assert emulator.calls("/cgi-bin/freepublish/submit") and emulator.calls("/cgi-bin/freepublish/get")


def test_a_token_expiring_mid_publish_is_refreshed_once(oa, emulator) -> None:
    emulator.inject_errcode("/cgi-bin/draft/add", 42001)
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "published"
    assert emulator.token_calls == 2


def test_a_token_expired_on_the_server_is_replaced(oa, emulator) -> None:
    oa("account", "check", "laoli-oa")  # caches a token
    emulator.expire_tokens()
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "published" and emulator.token_calls == 2


def test_a_token_refused_forever_fails_after_one_refresh(oa, emulator) -> None:
    emulator.inject_errcode("/cgi-bin/draft/add", 40001, times=50)
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "failed" and "reconnect" in post["reason"]
    assert len(emulator.calls("/cgi-bin/draft/add")) == 2  # the call, one refresh, one retry: no loop
    assert emulator.token_calls <= 3


def test_the_daily_quota_is_a_rate_limit_retried_later(oa, emulator) -> None:
    emulator.inject_errcode("/cgi-bin/freepublish/submit", 45009)
    [post] = oa.json("distribute", "KIWI")
    assert post["status"] == "queued"
    assert "quota" in post["reason"] and "00:00 Beijing" in post["reason"]
    from weishang_core.db import get_sessionmaker
    from weishang_core.models import Post

    with get_sessionmaker(oa.url).begin() as session:  # the quota resets: the retry falls due
        session.get(Post, post["id"]).next_attempt_at = session.get(Post, post["id"]).created_at
    oa("posts", "run")
    assert oa.json("posts")[0]["status"] == "published"
    assert len(emulator.calls("/cgi-bin/draft/add")) == 1  # the draft was reused, not made again


def test_publish_status_3_fails_with_its_meaning(oa, emulator) -> None:
    emulator.publish_outcome = 3
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "failed" and "publishing failed (常規失敗)" in post["reason"]


def test_a_lost_reply_on_draft_add_makes_no_duplicate_draft(oa, emulator, monkeypatch) -> None:
    monkeypatch.setenv("WEISHANG_RETRY_BASE", "0.05")
    emulator.inject("drop_reply")
    [post] = oa.json("distribute", "KIWI", "--wait")
    assert post["status"] == "published"
    assert len(emulator.calls("/cgi-bin/draft/add")) == 1
    assert len(emulator.published) == 1 and emulator.drafts == {}


def test_account_check_reports_in_words(oa, emulator) -> None:
    assert "laoli-oa: ok, WeChat issued an access token" in oa("account", "check", "laoli-oa").stdout
    oa(
        "account",
        "add",
        "wechat-oa",
        "--name",
        "wrong",
        "--option",
        "appid=wx-nope",
        "--option",
        "secret=x",
        "--option",
        f"api_base={emulator.base_url}",
    )
    assert "invalid AppID" in oa.fails("account", "check", "wrong")
    listing = oa("account", "list").stdout
    assert emulator.secret not in listing


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_twenty_workers_needing_a_token_make_one_token_call(backend, db_url, tmp_path, monkeypatch) -> None:
    from weishang_core import migrate
    from weishang_core.config import load_settings
    from weishang_core.db import get_engine

    monkeypatch.setenv("WEISHANG_HOME", str(tmp_path))
    migrate.upgrade(get_engine(db_url))
    broker = None
    if backend == "redis":
        import redis

        broker = "redis://127.0.0.1:6379/14"
        redis.Redis.from_url(broker).flushdb()
    settings = load_settings(db_url, broker)
    with WeChatEmulator(latency=0.2) as emulator:
        tokens: list[str] = []

        def worker() -> None:
            client = WeChatClient(emulator.base_url, emulator.appid, emulator.secret, TokenCache(settings))
            tokens.append(client.token())

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert emulator.token_calls == 1
        assert len(set(tokens)) == 1 and len(tokens) == 20
