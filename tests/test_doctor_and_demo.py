"""``doctor`` and ``demo``: what a new user runs first."""

from __future__ import annotations

import re


def test_doctor_passes_on_a_ready_store(store) -> None:
    result = store("doctor")
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["pass", "database"],
        ["pass", "migrations"],
        ["pass", "broker"],
        ["pass", "plugins"],
    ]


def test_doctor_fails_on_an_unreachable_broker_and_an_empty_database(weishang) -> None:
    result = weishang.runner.invoke(
        __import__("weishang_core.cli", fromlist=["cli"]).cli,
        ["doctor"],
        env={**weishang.env(), "WEISHANG_BROKER_URL": "redis://127.0.0.1:1/0"},
    )
    assert result.exit_code == 1
    assert "FAIL  migrations" in result.stdout
    assert "FAIL  broker" in result.stdout


def test_demo_tells_the_story_without_printing_secrets(weishang) -> None:
    result = weishang("demo")
    out = result.stdout
    assert "老李 opens his store" in out and "勤妹子 (reseller)" in out and "    張三 (reseller)" in out
    assert "emulated-app-secret" not in result.output  # the emulators' app secrets
    assert not re.search(r"2\.00[0-9a-f]{24}", result.output)  # nor the Weibo access token
    posts = weishang.json("posts")
    seller_posts = {p["channel"]: p for p in posts if p["poster"] == "老李"}
    assert {c: p["status"] for c, p in seller_posts.items()} == {
        "wechat-oa": "published",
        "weibo": "published",
        "webstore": "published",
    }
    assert seller_posts["weibo"]["url"].startswith("https://weibo.com/") and seller_posts["weibo"]["url"] in out
    kits = [p for p in posts if p["poster"] == "勤妹子"]
    assert [p["status"] for p in kits].count("published") == 4 and [p["status"] for p in kits].count("refused") == 1
    assert "daily cap" in out
    assert "#2 李四" in out and "refunded ¥20.00" in out
    assert "raises ¥300.00 from 3 pre-orders" in out and "it is fulfilled" in out
    balances = {line.split()[0]: line.split()[1:] for line in out.split("-- balances --")[1].splitlines()[1:3]}
    # 勤妹子: kiwis 7.98 + 3.99 - 2.00 refunded, honey 5.44, level 2 on 趙六's kiwis 1.20, three peaches 30.00
    assert balances["勤妹子"][-2:] == ["paid", "¥46.61"] and balances["勤妹子"][1] == "¥0.00"
    assert balances["張三"] == ["pending", "¥0.00", "available", "¥0.00", "paid", "¥3.99"]
    assert "--fresh" in weishang.fails("demo")
    again = weishang("demo", "--fresh")
    assert "老李 opens his store" in again.stdout
    assert [p["sku"] for p in weishang.json("product", "list")][:2] == ["KIWI-RED-5KG", "HONEY-RAW-500G"]


def test_the_demo_runs_on_a_plain_install_without_the_test_tools(tmp_path) -> None:
    """`./scripts/demo` installs weishang without pytest; the demo's emulators must not need it."""
    import os
    import subprocess
    import sys

    script = "import sys; sys.modules['pytest'] = None; from weishang_core.cli import main; main()"
    env = {**os.environ, "WEISHANG_HOME": str(tmp_path / "home"), "WEISHANG_BROKER_URL": ""}
    env.pop("WEISHANG_DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-c", script, "demo"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "The store is ready" in run.stdout
