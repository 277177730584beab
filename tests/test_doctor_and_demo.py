"""``doctor`` and ``demo``: what a new user runs first."""

from __future__ import annotations


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
    assert "老李 opens his store" in result.stdout
    assert "勤妹子 (reseller)" in result.stdout
    assert "do-not-print" not in result.output
    assert "--fresh" in weishang.fails("demo")
    again = weishang("demo", "--fresh")
    assert "老李 opens his store" in again.stdout
    assert [p["sku"] for p in weishang.json("product", "list")] == ["KIWI-RED-5KG", "HONEY-RAW-500G"]
