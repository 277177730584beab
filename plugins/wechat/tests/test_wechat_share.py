"""The share kit for groups and Moments: caption, photos, and a poster whose QR code is the link."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from weishang_wechat.poster import HEIGHT, WIDTH, cjk_font_path
from weishang_wechat.share import WeChatShareKit

from weishang_core.channels import Account
from weishang_core.testing import ChannelConformance, Emulator


class TestShareKitConformance(ChannelConformance):
    remote = False

    @pytest.fixture
    def channel(self):
        return WeChatShareKit()

    @pytest.fixture
    def emulator(self):
        with Emulator() as running:  # the share kit calls no server; the suite checks that too
            yield running

    @pytest.fixture
    def account(self, tmp_path, monkeypatch):
        monkeypatch.setenv("WEISHANG_HOME", str(tmp_path))
        return Account("share", "wechat-share", {}, {})


def ink(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many dark pixels a region has: text was drawn there."""
    region = image.crop(box).convert("L")
    return sum(1 for value in region.getdata() if value < 128)


def test_a_reseller_gets_a_kit_whose_poster_carries_her_link(store, tmp_path: Path) -> None:
    from pyzbar.pyzbar import decode

    photo = tmp_path / "kiwi.png"
    Image.new("RGB", (1200, 900), (110, 170, 60)).save(photo)
    store(
        "product",
        "add",
        "--sku",
        "KIWI",
        "--title",
        "紅心獼猴桃 5kg",
        "--price",
        "39.90",
        "--image",
        str(photo),
        "--description",
        "老李從果園直接採購的紅心獼猴桃。",
    )
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store("account", "add", "wechat-share", "--name", "qin-groups", "--owner", "勤妹子")
    [post] = store.json("distribute", "KIWI", "--as", "勤妹子", "--note", "孩子最愛吃")
    assert post["status"] == "published"
    kit = Path(post["url"])
    assert kit.parent == (store.home / "share").resolve()
    caption = (kit / "caption.txt").read_text(encoding="utf-8")
    assert "孩子最愛吃" in caption and "¥39.90" in caption and len(caption) <= 301
    assert (kit / "photo-1.png").read_bytes() == photo.read_bytes()
    poster = Image.open(kit / "poster.png")
    assert poster.size == (WIDTH, HEIGHT)
    [code] = decode(poster)
    link = code.data.decode()
    assert link in caption and link.endswith("?utm_source=wechat-share")  # a click from a kit lands on its outlet
    from weishang_core.db import get_sessionmaker
    from weishang_core.models import Identity, ReferralLink

    with get_sessionmaker(store.url)() as session:
        owner = (
            session.query(Identity)
            .join(ReferralLink, ReferralLink.reseller_id == Identity.id)
            .filter(ReferralLink.code == link.split("?")[0].rsplit("/", 1)[1])
            .one()
        )
    assert owner.handle == "勤妹子"
    assert cjk_font_path() is not None, "a CJK font must be installed, or the Chinese shows as boxes"
    assert ink(poster, (60, 900, 1000, 1060)) > 2000  # the title
    assert ink(poster, (60, 1000, 600, 1300)) > 0  # the price (red)
    assert ink(poster, (60, 1340, 600, 1400)) > 1000  # "勤妹子 推薦"
    assert not (store.home / "share" / f"{kit.name}.partial").exists()
