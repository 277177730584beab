"""Resellers and outlet accounts through the CLI; secrets never come back out."""

from __future__ import annotations

WEIBO = [
    "--option",
    "app_key=k1",
    "--option",
    "app_secret=TOPSECRET-weibo",
    "--option",
    "redirect_uri=http://127.0.0.1:8000/cb",
    "--option",
    "safe_domain=127.0.0.1",
]


def test_resellers_and_sponsors(store) -> None:
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store("reseller", "add", "小王", "--sponsor", "勤妹子")
    listed = {r["name"]: r for r in store.json("reseller", "list")}
    assert listed["小王"]["sponsor"] == "勤妹子" and listed["小王"]["depth"] == 2
    assert store.json("reseller", "show", "勤妹子")["direct_downline"] == 1
    assert "already a reseller" in store.fails("reseller", "add", "勤妹子")
    assert "nobody is called '無名'" in store.fails("reseller", "add", "張三", "--sponsor", "無名")
    assert [r["name"] for r in store.json("reseller", "list")] == ["勤妹子", "小王"]


def test_account_secrets_are_masked_everywhere(store) -> None:
    added = store("account", "add", "weibo", "--name", "laoli-weibo", *WEIBO)
    assert "TOPSECRET" not in added.output
    listing = store("account", "list")
    as_json = store.json("account", "list")
    assert "TOPSECRET" not in listing.output
    assert as_json[0]["options"]["app_secret"] == "********"
    assert as_json[0]["options"]["app_key"] == "k1"
    assert as_json[0]["options"]["api_base"] == "https://api.weibo.com"


def test_account_options_are_validated_by_the_channel(store) -> None:
    assert "app_secret" in store.fails("account", "add", "weibo", "--name", "w", "--option", "app_key=1")
    assert "does not take it" in store.fails("account", "add", "webstore", "--name", "s", "--option", "x=1")
    assert "not installed" in store.fails("account", "add", "myspace", "--name", "m")
    assert "KEY=VALUE" in store.fails("account", "add", "webstore", "--name", "s", "--option", "novalue")
    assert store.json("account", "list") == []


def test_account_check_and_remove(store) -> None:
    store("account", "add", "webstore", "--name", "shop")
    assert "shop: ok" in store("account", "check", "shop").stdout
    assert "already exists" in store.fails("account", "add", "webstore", "--name", "shop")
    store("account", "remove", "shop")
    assert store.json("account", "list") == []
    assert "no outlet account" in store.fails("account", "remove", "shop")


def test_usage_errors_exit_2(store) -> None:
    store.fails("product", "add", "--title", "no sku", code=2)
    store.fails("frobnicate", code=2)
