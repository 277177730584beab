"""Every example in examples/ runs, as a user would run it (the custom channel's own suite runs too)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEISHANG = str(Path(sys.executable).with_name("weishang"))


def test_the_kiwi_story_script_runs(tmp_path: Path) -> None:
    env = {**os.environ, "WEISHANG_HOME": str(tmp_path / "home"), "WEISHANG_BROKER_URL": ""}
    env.pop("WEISHANG_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples/kiwi_story/story.py")], env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "post on qin-groups: published" in result.stdout
    assert "order #1: ¥79.80" in result.stdout
    assert "'available': '7.98'" in result.stdout  # 10% of 79.80, released after the window


def test_the_analytics_hook_plugin_installs_and_counts_the_demo(tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(ROOT / "examples/analytics_hook")],
        check=True, timeout=300,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site), "WEISHANG_HOME": str(tmp_path / "home"), "WEISHANG_BROKER_URL": ""}
    env.pop("WEISHANG_DATABASE_URL", None)
    assert "funnel" in subprocess.run([WEISHANG, "plugins"], env=env, capture_output=True, text=True).stdout
    demo = subprocess.run([WEISHANG, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    out = tmp_path / "funnel.csv"
    shown = subprocess.run([WEISHANG, "funnel", "--csv", str(out)], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    rows = {(r["by"], r["name"]): r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert rows[("outlet", "weibo")]["posts"] == "1" and rows[("outlet", "wechat-share")]["posts"] == "4"
    assert rows[("outlet", "wechat-share")]["clicks"] == "4"  # three buyers and 趙六 tapped a link
    assert rows[("referrer", "張三")]["orders"] == "1" and rows[("referrer", "張三")]["revenue"] == "39.90"


def test_the_custom_channel_installs_and_passes_its_own_conformance_suite(tmp_path: Path) -> None:
    """examples/custom_channel was made with `weishang plugin new webhook`; run its suite as its author would."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site),
         str(ROOT / "examples/custom_channel")],
        check=True, timeout=300,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT / "examples/custom_channel", env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_the_custom_channel_example_is_exactly_what_the_scaffold_writes(tmp_path: Path) -> None:
    """The example is `weishang plugin new webhook` as it comes, so the two cannot drift apart."""
    from weishang_core.scaffold import new_plugin

    written = new_plugin("webhook", tmp_path)
    example = ROOT / "examples/custom_channel"
    tracked = subprocess.run(
        ["git", "ls-files", "."], cwd=example, capture_output=True, text=True, check=True
    ).stdout.split()
    generated = sorted(str(p.relative_to(written)) for p in written.rglob("*") if p.is_file())
    assert sorted(tracked) == generated
    for name in generated:
        assert (example / name).read_text(encoding="utf-8") == (written / name).read_text(encoding="utf-8"), name
