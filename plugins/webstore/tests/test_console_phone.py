"""The seller's whole job on a phone: Debian's Chromium walks the console of a real `weishang serve`.

The store runs on PostgreSQL with two server processes; WeChat and Weibo are their emulators (real HTTP
servers on 127.0.0.1). Screenshots of every screen land in `test-artifacts/console-*.png`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from test_live_store import ARTIFACTS, PHONE, browser, serving  # noqa: F401  (browser: a fixture)
from weishang_wechat.testing import WeChatEmulator
from weishang_weibo.testing import WeiboEmulator

from tests.fixtures import Weishang, free_port
from weishang_core.db import get_sessionmaker
from weishang_core.models import Click, Order, Post, utcnow

FRUIT = [("PEACH", "水蜜桃 2kg"), ("PLUM", "三華李 3kg"), ("MANGO", "貴妃芒 5kg"), ("LYCHEE", "妃子笑荔枝 2kg")]


@pytest.fixture
def console_store(pg_url: str, tmp_path: Path):
    """老李's store with a WeChat OA and the web store connected, four fruits, and one pending order."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = Weishang(pg_url, tmp_path / "home")
    os.environ["WEISHANG_STORE_URL"] = base
    try:
        with WeChatEmulator() as wechat, WeiboEmulator() as weibo:
            cli("init", "--seller", "老李")
            for index, (sku, title) in enumerate(FRUIT):
                photo = tmp_path / f"{sku}.png"
                Image.new("RGB", (900, 700), (60 * index, 160, 80)).save(photo)
                cli("product", "add", "--sku", sku, "--title", title, "--price", f"{58 + index * 10}.00",
                    "--stock", "40", "--commission", "L1=10%,L2=3%", "--image", str(photo),
                    "--description", f"{title}，產地直發。")  # fmt: skip
            cli("account", "add", "webstore", "--name", "shop")
            cli("account", "add", "wechat-oa", "--name", "laoli-oa", "--option", f"appid={wechat.appid}",
                "--option", f"secret={wechat.secret}", "--option", f"api_base={wechat.base_url}",
                "--option", "poll_every=1")  # fmt: skip
            cli("reseller", "add", "阿芳", "--sponsor", "老李")
            cli("reseller", "add", "勤妹子", "--sponsor", "阿芳")
            code = cli.json("link", "create", "--reseller", "勤妹子", "--sku", "PEACH")["code"]
            cli("link", "click", code, "--visitor", "v-zhang", "--outlet", "weibo")
            cli("order", "create", "--sku", "PEACH", "--qty", "2", "--buyer", "張三", "--visitor", "v-zhang")
            with serving(cli, port) as served:
                yield cli, served, wechat, weibo
    finally:
        os.environ.pop("WEISHANG_STORE_URL", None)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def publish(page, base: str, sku: str) -> list[tuple[str, str]]:
    """Press Distribute for SKU, then Publish; wait for every outlet to answer; (account, status) each."""
    page.goto(f"{base}/console/products/{sku}/distribute")
    page.click("#publish")
    page.wait_for_url("**/console/posts?ids=*")
    page.wait_for_selector("#all-done:not([hidden])", timeout=30_000)
    cards = page.locator("div.post")
    return [(cards.nth(i).get_attribute("data-account"), cards.nth(i).get_attribute("data-status"))
            for i in range(cards.count())]  # fmt: skip


def test_a_seller_runs_the_store_from_a_phone(console_store, browser, tmp_path) -> None:  # noqa: F811
    cli, base, wechat, weibo = console_store
    phone = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = phone.new_page()

    # Sign in by magic link; a second use of the same link fails.
    link = cli("console-link").stdout.strip()
    page.goto(link)
    page.wait_for_url(f"{base}/console")
    shot(page, "01-dashboard-empty")
    other = browser.new_context(viewport=PHONE).new_page()
    other.goto(link)
    assert "used already" in other.locator("#login-error").inner_text()
    shot(other, "00-link-used-twice")

    # Add a product with a photo from the phone.
    page.click("text=商品 Products")
    page.click("#add-product")
    assert "at most 2 level(s)" in page.locator("#commission-limit").inner_text()
    photo = tmp_path / "pear-from-camera.jpg"
    Image.new("RGB", (3000, 4000), (220, 200, 90)).save(photo, quality=92)
    page.fill("#sku", "PEAR")
    page.fill("#title", "碭山酥梨 5kg")
    page.fill("#price", "39.90")
    page.fill("#stock", "30")
    page.fill("#description", "皮薄汁多，老李親自挑。")
    page.fill("#commission", "L1=10%,L2=3%")
    page.set_input_files("#photo", str(photo))
    shot(page, "02-add-product")
    page.click("#save")
    assert page.locator("#flash").inner_text() == "PEAR added"
    [image] = cli.json("product", "show", "PEAR")["images"]
    assert max(Image.open(cli.home / "media" / image).size) == 1600
    page.click("text=商品 Products")
    assert page.locator(".product[data-sku=PEAR] img").count() == 1
    shot(page, "02b-products")

    # Connect a Weibo account through the emulator's OAuth pages.
    page.goto(f"{base}/console/outlets")
    page.click("a.add-outlet[data-channel=weibo]")
    page.fill("#name", "laoli-wb")
    page.fill("#opt_app_key", weibo.app_key)
    page.fill("#opt_app_secret", weibo.app_secret)
    assert page.input_value("#opt_redirect_uri") == f"{base}/console/oauth/callback"
    page.fill("#opt_safe_domain", "127.0.0.1")
    page.fill("#opt_api_base", weibo.base_url)
    shot(page, "03-add-weibo")
    page.click("#save-outlet")
    page.wait_for_selector("#allow")
    shot(page, "04-weibo-consent")
    page.click("#allow")
    page.wait_for_url(f"{base}/console/outlets?msg=*")
    assert f"connected to Weibo user {weibo.uid}" in page.locator("#flash").inner_text()
    assert weibo.app_secret not in page.content()
    shot(page, "05-outlets")

    # One click: preview each outlet's rendering, publish, watch every outlet reach published.
    page.goto(f"{base}/console/products")
    page.locator(".product[data-sku=PEAR] a.distribute").click()
    previews = page.locator(".outlet-preview")
    assert sorted(previews.nth(i).get_attribute("data-account") for i in range(previews.count())) == [
        "laoli-oa", "laoli-wb", "shop"]  # fmt: skip
    assert "碭山酥梨" in page.locator(".outlet-preview[data-account=laoli-wb] pre.render").inner_text()
    assert "0 of 4 posts today" in page.locator(".outlet-preview[data-account=laoli-wb] .cap").inner_text()
    shot(page, "06-distribute-preview")
    page.click("#publish")
    page.wait_for_selector("#all-done:not([hidden])", timeout=30_000)
    cards = page.locator("div.post")
    assert sorted((cards.nth(i).get_attribute("data-account"), cards.nth(i).get_attribute("data-status"))
                  for i in range(cards.count())) == [  # fmt: skip
        ("laoli-oa", "published"), ("laoli-wb", "published"), ("shop", "published")]  # fmt: skip
    assert page.locator("a.post-link").count() == 3
    shot(page, "07-distribute-published")
    assert len(weibo.statuses) == 1 and len(wechat.calls("/cgi-bin/draft/add")) == 1

    # Three more products make four posts today on each outlet; the fifth is refused, and says so first.
    for sku, _ in FRUIT[:3]:
        assert {status for _, status in publish(page, base, sku)} == {"published"}
    page.goto(f"{base}/console/products/LYCHEE/distribute")
    for account in ("laoli-oa", "laoli-wb", "shop"):
        card = page.locator(f".outlet-preview[data-account={account}]")
        assert "4 of 4 posts today" in card.locator(".cap").inner_text()
        assert "daily cap" in card.locator(".reason").inner_text()
    shot(page, "08-fifth-post-preview")
    page.click("#publish")
    page.wait_for_selector("#all-done:not([hidden])", timeout=30_000)
    assert page.locator("div.post[data-status=refused]").count() == 3
    assert "daily cap: 4 posts already on laoli-wb" in page.locator("div.post[data-account=laoli-wb]").inner_text()
    shot(page, "09-fifth-post-refused")
    assert len(weibo.statuses) == 4

    # The order: mark paid and delivered, refund half, watch the commissions change.
    page.goto(f"{base}/console/orders")
    page.select_option("#status", "pending")
    page.click("text=篩選 · Filter")
    assert page.locator("#orders tr[data-order]").count() == 1
    shot(page, "09b-orders")
    page.click("text=#1")
    page.click("button.action[data-action=pay]")
    assert page.locator("#order-status").inner_text() == "paid"
    page.click("button.action[data-action=deliver]")
    assert page.locator("#order-status").inner_text() == "delivered"
    amounts = page.locator("#commissions td.amount")
    assert [amounts.nth(i).inner_text() for i in range(amounts.count())] == ["¥11.60", "¥3.48"]
    shot(page, "10-order-delivered")
    total = cli.json("order", "show", "1")["total"]
    assert total == "116.00"
    page.fill("#amount", "58.00")
    page.fill("#reason", "一箱壓壞了")
    page.click("#refund")
    assert page.locator("#effect-refund").inner_text() == "¥58.00"
    changes = page.locator("tr.change")
    assert [changes.nth(i).inner_text().split() for i in range(changes.count())] == [
        ["勤妹子", "L1", "¥-5.80"], ["阿芳", "L2", "¥-1.74"]]  # fmt: skip
    assert cli.json("order", "show", "1")["refunded"] == "0.00"  # the confirmation comes first
    shot(page, "11-refund-confirm")
    page.click("#confirm-refund")
    assert page.locator("#refunded").inner_text() == "58.00"
    amounts = page.locator("#commissions td.amount")
    shown = sorted(amounts.nth(i).inner_text() for i in range(amounts.count()))
    assert shown == sorted(["¥11.60", "¥3.48", "¥-5.80", "¥-1.74"])
    shot(page, "12-order-refunded")
    page.click("text=錢 Money")
    assert page.locator("#balances tr[data-person=勤妹子] td.pending").inner_text() == "¥5.80"
    shot(page, "13-money")

    # The dashboard's funnel, checked against the database itself.
    page.goto(f"{base}/console")
    since = utcnow() - timedelta(days=30)
    with get_sessionmaker(cli.url)() as session:
        posts = session.scalar(select(func.count()).where(Post.status == "published", Post.published_at >= since))
        clicks = session.scalar(select(func.count()).where(Click.counted.is_(True), Click.created_at >= since))
        placed = session.execute(select(func.count(), func.sum(Order.paid_fen - Order.refunded_fen))
                                 .where(Order.created_at >= since, Order.status != "cancelled")).one()  # fmt: skip
    assert (posts, clicks, placed[0], placed[1]) == (12, 1, 1, 5800)
    assert page.locator("#total-posts").inner_text() == str(posts)
    assert page.locator("#total-clicks").inner_text() == str(clicks)
    assert page.locator("#total-orders").inner_text() == str(placed[0])
    assert page.locator("#total-revenue").inner_text() == "¥58.00"
    assert page.locator("#total-commissions").inner_text() == "¥7.54"
    weibo_row = page.locator('#outlets text[data-name="weibo"]')
    assert [weibo_row.nth(i).text_content() for i in range(5)] == ["4", "1", "1", "58.00", "7.54"]
    assert page.locator("#tree text.person").all_text_contents() == ["老李", "阿芳", "勤妹子"]
    shot(page, "14-dashboard")

    # A pre-sale: start one, watch it, close it.
    page.click("text=預售 Campaigns")
    page.select_option("#sku", "PEAR")
    page.fill("#target", "2000")
    page.click("#create-campaign")
    assert page.locator("#flash").inner_text() == "campaign 1 is open"
    assert page.locator(".campaign[data-id='1'] .campaign-status").inner_text() == "open"
    shot(page, "15-campaigns")
