"""The Weibo channel against the Weibo emulator (spec §2), through the CLI where a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from weishang_weibo.api import WeiboError
from weishang_weibo.channel import Weibo, marker
from weishang_weibo.testing import WeiboEmulator

from tests.fixtures import free_port
from weishang_core.channels import Account, count_text
from weishang_core.content import Content
from weishang_core.errors import AuthExpired, PermanentError, RateLimited, TransientError
from weishang_core.models import utcnow
from weishang_core.testing import ChannelConformance


@pytest.fixture
def emulator():
    with WeiboEmulator() as running:
        yield running


def connected(emulator: WeiboEmulator, safe_domain: str = "127.0.0.1") -> Account:
    return Account(
        "wb",
        "weibo",
        {
            "app_key": emulator.app_key,
            "redirect_uri": "http://127.0.0.1:9/cb",
            "safe_domain": safe_domain,
            "api_base": emulator.base_url,
            "rip": "211.156.0.1",
        },
        {"app_secret": emulator.app_secret},
        {
            "access_token": emulator.grant_token(),
            "uid": emulator.uid,
            "expires_at": (utcnow() + timedelta(days=30)).isoformat(),
        },
    )


class TestWeiboConformance(ChannelConformance):
    @pytest.fixture
    def channel(self):
        return Weibo()

    @pytest.fixture
    def account(self, emulator):
        return connected(emulator)


def add_account(store, emulator: WeiboEmulator, redirect_uri: str = "http://127.0.0.1:9/cb", **extra: str) -> None:
    options = {
        "app_key": emulator.app_key,
        "app_secret": emulator.app_secret,
        "redirect_uri": redirect_uri,
        "safe_domain": "127.0.0.1",
        "api_base": emulator.base_url,
        **extra,
    }
    args = [part for key, value in options.items() for part in ("--option", f"{key}={value}")]
    result = store("account", "add", "weibo", "--name", "laoli-wb", "--daily-cap", "50", *args)
    assert "weishang account connect laoli-wb" in result.stdout


def test_the_oauth_dance_through_the_cli_with_the_callback_server(store, emulator) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/weibo/callback"
    add_account(store, emulator, redirect_uri)
    assert "not connected" in store.json("account", "list")[0]["status"]
    env = {**os.environ, **store.env(), "PYTHONUNBUFFERED": "1"}
    command = [str(Path(sys.executable).with_name("weishang")), "account", "connect", "laoli-wb", "--timeout", "30"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Open this address")
        authorize = proc.stdout.readline().strip()
        assert authorize.startswith(f"{emulator.base_url}/oauth2/authorize?client_id={emulator.app_key}")
        assert "waiting for the outlet" in proc.stderr.readline()
        # The "browser": Weibo redirects it to the local callback, which the command is listening on.
        page = requests.get(authorize, timeout=10)
        assert page.status_code == 200 and "weishang is connected" in page.text
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"laoli-wb: connected to Weibo user {emulator.uid}" in out
    [account] = store.json("account", "list")
    assert account["status"] == "ok" and account["options"]["app_secret"] == "********"
    token = next(iter(emulator.tokens))
    assert token not in store("account", "list").stdout
    assert "valid for 1824 more day(s)" in store("account", "check", "laoli-wb").stdout
    [exchange] = emulator.calls("/oauth2/access_token")
    assert exchange.form["redirect_uri"] == redirect_uri and exchange.form["grant_type"] == "authorization_code"


def test_connect_with_a_code_obtained_elsewhere(store, emulator) -> None:
    add_account(store, emulator)
    emulator.numbers_as_strings = False  # expires_in as a number this time: both forms parse
    landing = requests.get(
        f"{emulator.base_url}/oauth2/authorize",
        params={"client_id": emulator.app_key, "redirect_uri": "http://127.0.0.1:9/cb"},
        allow_redirects=False,
        timeout=10,
    ).headers["Location"]
    assert "connected to Weibo user" in store("account", "connect", "laoli-wb", "--code", landing).stdout
    assert "code is invalid or was already used" in store.fails("account", "connect", "laoli-wb", "--code", "used")


@pytest.fixture
def weibo(store, emulator, tmp_path):
    photo = tmp_path / "kiwi.webp"  # not a format Weibo takes: the plugin converts it
    Image.new("RGB", (900, 600), (120, 180, 60)).save(photo)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃 5kg", "--price", "39.90",
          "--description", "老李從果園直接採購。" * 20, "--image", str(photo))  # fmt: skip
    add_account(store, emulator, rip="211.156.0.1")
    landing = requests.get(
        f"{emulator.base_url}/oauth2/authorize",
        params={"client_id": emulator.app_key, "redirect_uri": "http://127.0.0.1:9/cb"},
        allow_redirects=False,
        timeout=10,
    ).headers["Location"]
    store("account", "connect", "laoli-wb", "--code", landing)
    return store


def test_a_post_with_an_image_carries_the_link_and_fits_140(weibo, emulator) -> None:
    [post] = weibo.json("distribute", "KIWI", "--note", "孩子最愛吃")
    assert post["status"] == "published"
    [status] = emulator.statuses
    assert post["url"] == f"https://weibo.com/{emulator.uid}/{status['idstr']}"
    assert "孩子最愛吃" in status["text"] and "¥39.90" in status["text"]
    assert "http://127.0.0.1:8000/r/" in status["text"]
    assert count_text(status["text"], "weibo") <= 140
    [call] = emulator.calls("/2/statuses/share.json")
    assert call.form["rip"] == "211.156.0.1"
    assert call.files["pic"][1][:3] == b"\xff\xd8\xff"  # the WebP went out as a JPEG


def test_weibo_counting_at_the_140_boundary(emulator) -> None:
    assert count_text("中" * 139 + "ab", "weibo") == 140  # two ASCII characters count one
    assert count_text("中" * 139 + "abc", "weibo") == 141  # an odd one out still counts one
    assert count_text("a" * 280, "weibo") == 140
    channel, account = Weibo(), connected(emulator)
    link = " http://127.0.0.1:8000/r/7QK2M9XD"  # 33 ASCII characters
    assert count_text(marker("ws-any"), "weibo") == 6  # " ws:" and 8 hex digits
    over = "中" * 117 + "ab" + link  # 117 + 35 ASCII (18) = 135; with the marker 141
    assert count_text(over, "weibo") == 135
    with pytest.raises(WeiboError) as caught:
        channel.publish(account, {"text": over, "images": []}, "boundary-1")
    assert caught.value.code == 20012
    result = channel.publish(account, {"text": over[1:], "images": []}, "boundary-2")  # one CJK fewer: 140
    assert result.status == "published"
    assert count_text(emulator.statuses[-1]["text"], "weibo") == 140
    content = Content("K", "標題" * 40, "描述 description " * 40, 3990, link.strip(), "勤妹子", "note " * 30)
    rendered = channel.render(content)
    assert rendered["text"].endswith(link.strip())
    assert count_text(rendered["text"] + marker("ws-anything"), "weibo") <= 140


def test_a_link_off_the_safe_domain_is_refused_before_sending(weibo, emulator) -> None:
    weibo("account", "remove", "laoli-wb")
    add_account(weibo, emulator, safe_domain="shop.example.com")
    [post] = weibo.json("distribute", "KIWI")
    assert post["status"] == "refused" and "safe_domain shop.example.com" in post["reason"]
    assert emulator.calls("/2/statuses/share.json") == []


@pytest.mark.parametrize(
    ("code", "http_status", "error", "words"),
    [
        (10022, 403, RateLimited, "rate limit"),
        (10023, 403, RateLimited, "rate limit"),
        (10024, 403, RateLimited, "rate limit"),
        (20016, 403, RateLimited, "rate limit"),
        (20012, 400, PermanentError, "longer than 140"),
        (20018, 400, PermanentError, "illegal"),
        (20020, 400, PermanentError, "advertising"),
        (20021, 400, PermanentError, "illegal"),
        (21314, 401, AuthExpired, "no longer works"),
        (21315, 401, AuthExpired, "no longer works"),
        (21316, 401, AuthExpired, "no longer works"),
        (21317, 401, AuthExpired, "no longer works"),
        (21327, 401, AuthExpired, "no longer works"),
        (21332, 401, AuthExpired, "no longer works"),
        (500, 500, TransientError, "unavailable"),
    ],
)
def test_each_error_class(emulator, code, http_status, error, words) -> None:
    emulator.inject_error("/2/statuses/share.json", code, http_status)  # error_code arrives as a string
    with pytest.raises(error) as caught:
        Weibo().publish(connected(emulator), {"text": "好果子 http://127.0.0.1:8000/r/X", "images": []}, "e-1")
    assert caught.value.code == code and words in str(caught.value)
    if error is RateLimited:
        assert caught.value.retry_after >= 600


def test_a_bare_5xx_is_transient(emulator) -> None:
    emulator.inject("transient")
    with pytest.raises(TransientError):
        Weibo().publish(connected(emulator), {"text": "好果子 http://127.0.0.1:8000/r/X", "images": []}, "e-2")


def test_repeated_content_after_a_lost_reply_finds_the_first_post(emulator) -> None:
    channel, account = Weibo(), connected(emulator)
    payload = {"text": "好果子 http://127.0.0.1:8000/r/X", "images": []}
    emulator.inject("drop_reply")
    with pytest.raises(TransientError):
        channel.publish(account, payload, "ws-lost")
    again = channel.publish(account, payload, "ws-lost")  # Weibo says 20019: it is our own earlier post
    assert again.external_id == emulator.statuses[0]["idstr"] and len(emulator.statuses) == 1
    emulator.inject_error("/2/statuses/share.json", 20017)
    with pytest.raises(PermanentError):  # repeated content that is not ours: refused, with the reason
        channel.publish(account, payload, "ws-other")


def test_a_lost_reply_through_the_core_posts_once(weibo, emulator, monkeypatch) -> None:
    monkeypatch.setenv("WEISHANG_RETRY_BASE", "0.05")
    emulator.inject("drop_reply")
    [post] = weibo.json("distribute", "KIWI", "--wait")
    assert post["status"] == "published"
    assert len(emulator.statuses) == 1 and len(emulator.calls("/2/statuses/share.json")) == 1
    assert post["url"].endswith(emulator.statuses[0]["idstr"])


def test_an_expired_token_fails_the_post_saying_how_to_reconnect(weibo, emulator) -> None:
    emulator.expire_tokens()
    [post] = weibo.json("distribute", "KIWI")
    assert post["status"] == "failed"
    assert "`weishang account connect laoli-wb`" in post["reason"]
    assert "no longer works" in weibo.fails("account", "check", "laoli-wb")


def test_a_token_about_to_expire_is_warned_about(weibo) -> None:
    from weishang_core.db import get_sessionmaker
    from weishang_core.models import OutletAccount

    with get_sessionmaker(weibo.url).begin() as session:
        account = session.query(OutletAccount).one()
        account.state = {**account.state, "expires_at": (utcnow() + timedelta(days=1)).isoformat()}
    [listed] = weibo.json("account", "list")
    assert listed["status"].startswith("token expires") and "account connect laoli-wb" in listed["status"]
    assert "warn  account    laoli-wb: token expires" in weibo("doctor").stdout
    with get_sessionmaker(weibo.url).begin() as session:
        account = session.query(OutletAccount).one()
        account.state = {**account.state, "expires_at": (utcnow() - timedelta(minutes=1)).isoformat()}
    [post] = weibo.json("distribute", "KIWI")
    assert post["status"] == "failed" and "token expired at" in post["reason"]


def test_the_hourly_posting_limit_is_respected_before_weibo_refuses(weibo, emulator) -> None:
    for number in range(31):
        if number:
            weibo("product", "add", "--sku", f"P{number}", "--title", f"好果子 {number} 號", "--price", "9.90")
        weibo("distribute", "KIWI" if number == 0 else f"P{number}")
    posts = weibo.json("posts")
    waiting = [p for p in posts if p["status"] == "queued"]
    assert len(waiting) == 1 and "30 posts an hour" in waiting[0]["reason"]
    assert len(emulator.calls("/2/statuses/share.json")) == 30
