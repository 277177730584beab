"""Channels arrive only through the `weishang` entry-point group; a broken plugin breaks nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from weishang_core import hookimpl
from weishang_core.channels import Channel, Limits, count_text
from weishang_core.plugins import get_channels, pm

WEISHANG = str(Path(sys.executable).with_name("weishang"))
BUILT_IN = {"wechat-oa", "wechat-share", "weibo", "webstore"}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEISHANG, *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120
    )


def test_channels_lists_every_built_in_outlet_with_limits() -> None:
    result = run("channels", "--json")
    assert result.returncode == 0, result.stderr
    channels = {c["name"]: c for c in json.loads(result.stdout)}
    assert set(channels) == BUILT_IN
    assert channels["weibo"]["limits"]["text_max"] == 140
    assert channels["weibo"]["limits"]["text_counting"] == "weibo"
    assert channels["wechat-oa"]["limits"]["title_max"] == 32
    assert {o["name"]: o["secret"] for o in channels["wechat-oa"]["options"]}["secret"] is True


def test_a_plugin_that_fails_to_import_is_named_and_skipped(tmp_path: Path) -> None:
    dist = tmp_path / "broken_outlet-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-outlet\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[weishang]\nbroken = no_such_module_anywhere\n")
    result = run("channels", "--json", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0
    assert "plugin 'broken' failed to load" in result.stderr
    assert {c["name"] for c in json.loads(result.stdout)} == BUILT_IN
    doctor = run("doctor", env={"PYTHONPATH": str(tmp_path), "WEISHANG_HOME": str(tmp_path / "h")})
    assert "FAIL  plugins" in doctor.stdout


def test_uninstalling_a_plugin_removes_only_its_channel() -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "uninstall", "-y", "weishang-weibo"], check=True, timeout=300)
    try:
        result = run("channels", "--json")
        assert result.returncode == 0, result.stderr
        assert {c["name"] for c in json.loads(result.stdout)} == BUILT_IN - {"weibo"}
        assert result.stderr == ""
    finally:
        root = Path(__file__).resolve().parents[1]
        subprocess.run(
            [*pip, "install", "--no-deps", "--no-build-isolation", "-e", str(root / "plugins/weibo")],
            check=True,
            timeout=300,
        )
    assert "weibo" in {c["name"] for c in json.loads(run("channels", "--json").stdout)}


class Telegram(Channel):
    name = "telegram"
    display_name = "Telegram channel"
    limits = Limits(text_max=4096)


def test_a_registered_plugin_object_adds_a_channel() -> None:
    class Plugin:
        @hookimpl
        def register_channels(self, register):  # type: ignore[no-untyped-def]
            register(Telegram())

    plugin = Plugin()
    pm.register(plugin, name="test-telegram")
    try:
        assert "telegram" in get_channels()
    finally:
        pm.unregister(plugin)
    assert "telegram" not in get_channels()


def test_registration_refuses_a_malformed_channel() -> None:
    class Bad(Channel):
        name = "Bad Name"
        display_name = "bad"

    class Plugin:
        @hookimpl
        def register_channels(self, register):  # type: ignore[no-untyped-def]
            register(Bad())

    plugin = Plugin()
    pm.register(plugin, name="test-bad")
    try:
        with pytest.raises(ValueError, match="channel name 'Bad Name'"):
            get_channels()
    finally:
        pm.unregister(plugin)


@pytest.mark.parametrize(
    ("text", "length"),
    [("紅心獼猴桃", 5), ("ab", 1), ("abc", 2), ("紅心 kiwi", 5), ("x" * 280, 140), ("字" * 140, 140)],
)
def test_weibo_counting(text: str, length: int) -> None:
    assert count_text(text, "weibo") == length
