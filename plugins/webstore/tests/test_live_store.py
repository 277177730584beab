"""`weishang serve` for real: two uvicorn workers on PostgreSQL, and a phone-sized Chromium walking the loop.

Chromium is Debian's (`/usr/bin/chromium`, installed by `scripts/setup-env test`), driven by Playwright.
Screenshots land in `test-artifacts/` at the repository root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from tests.fixtures import IN_CI, Weishang, free_port
from weishang_core.models import utcnow

WEISHANG = str(Path(sys.executable).with_name("weishang"))
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live(pg_url: str, tmp_path: Path):
    """老李's store on PostgreSQL, served by `weishang serve --workers 2`; yields (cli, base URL, link code)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cli = Weishang(pg_url, tmp_path / "home")
    env_extra = {"WEISHANG_STORE_URL": base}
    os.environ.update(env_extra)
    try:
        cli("init", "--seller", "老李")
        photo = tmp_path / "kiwi.png"
        from PIL import Image

        Image.new("RGB", (800, 600), (110, 170, 60)).save(photo)
        cli("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃 5kg", "--price", "100.00", "--stock", "10",
            "--commission", "L1=10%,L2=3%", "--description", "老李從果園直接採購，軟了就能吃。",
            "--image", str(photo))  # fmt: skip
        cli("reseller", "add", "勤妹子", "--sponsor", "老李")
        cli("account", "add", "webstore", "--name", "shop")
        cli("distribute", "KIWI")
        code = cli.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
        with serving(cli, port):
            yield cli, base, code
    finally:
        for key in env_extra:
            os.environ.pop(key, None)


@contextmanager
def serving(cli: Weishang, port: int, workers: int = 2) -> Iterator[str]:
    """`weishang serve` on PORT until the block ends; waits for /healthz first."""
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **cli.env(), "WEISHANG_STORE_URL": base}
    server = subprocess.Popen(
        [WEISHANG, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"weishang serve did not come up: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_serve_with_two_workers_on_postgresql_serves_landing_and_product(live) -> None:
    cli, base, code = live
    with requests.Session() as visitor:
        landing = visitor.get(f"{base}/r/{code}", allow_redirects=False, timeout=10)
        assert landing.status_code == 302 and landing.headers["location"] == f"/p/KIWI?via={code}"
        for _ in range(20):  # spread over both worker processes
            page = visitor.get(f"{base}/p/KIWI?via={code}", timeout=10)
            assert page.status_code == 200 and "recommended by 勤妹子" in page.text
    assert visitor.get(f"{base}/p/NOPE", timeout=10).status_code == 404


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: run scripts/setup-env test (installs Debian's chromium)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def test_a_phone_walks_the_whole_loop(live, browser) -> None:
    cli, base, code = live
    ARTIFACTS.mkdir(exist_ok=True)
    zhang = browser.new_context(viewport=PHONE, is_mobile=True, locale="zh-CN")
    page = zhang.new_page()
    page.goto(f"{base}/r/{code}?utm_source=wechat-groups")
    assert "recommended by 勤妹子" in page.locator("#recommended").inner_text()
    page.screenshot(path=str(ARTIFACTS / "product-page-phone.png"), full_page=True)
    page.fill("#name", "張三")
    page.fill("#contact", "wx-zhangsan")
    page.click("button[type=submit]")
    page.wait_for_url("**/orders/**")
    assert page.locator("#status").inner_text() == "pending"
    cli("order", "pay", "1")
    cli("order", "deliver", "1")
    page.reload()
    page.click("text=成為分銷商 · Become a reseller")
    page.wait_for_url("**/me")
    second = page.locator("code.link").first.inner_text()
    assert second.startswith(f"{base}/r/")

    friend = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    friend.goto(f"{second}?utm_source=moments")
    assert "recommended by 張三" in friend.locator("#recommended").inner_text()  # a store-wide link
    friend.click("text=紅心獼猴桃 5kg")
    friend.fill("#name", "李四")
    friend.click("button[type=submit]")
    friend.wait_for_url("**/orders/**")
    cli("order", "pay", "2")
    cli("order", "deliver", "2")

    qin = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    qin.goto(cli("store", "magic-link", "勤妹子").stdout.strip())
    assert qin.locator("#pending").inner_text() == "¥13.00"  # 10.00 at level 1, 3.00 at level 2
    assert qin.locator("#downline").inner_text() == "1"
    qin.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"), full_page=True)
    page.reload()
    assert page.locator("#pending").inner_text() == "¥10.00"


def test_the_campaign_progress_bar_moves_after_a_purchase(live, browser) -> None:
    cli, base, _ = live
    cli("product", "add", "--sku", "PEACH", "--title", "水蜜桃 預售", "--price", "100.00", "--stock", "0")
    cli("store", "show", "PEACH")
    deadline = (utcnow() + timedelta(days=3, minutes=5)).isoformat(timespec="minutes")  # with its +00:00
    cli("campaign", "create", "--sku", "PEACH", "--target", "500.00", "--deadline", deadline, "--max-qty", "20")
    page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    page.goto(f"{base}/p/PEACH")
    assert page.locator("#campaign-progress").get_attribute("value") == "0"
    assert page.locator("#countdown").inner_text().endswith("3 d 0 h left")
    page.fill("#name", "孫七")
    page.click("button[type=submit]")
    page.wait_for_url("**/orders/**")
    cli("order", "pay", page.url.split("/orders/")[1].split("?")[0])
    page.goto(f"{base}/p/PEACH")
    assert page.locator("#campaign-progress").get_attribute("value") == "20"
    assert "還剩 19 份" in page.locator("#campaign").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "campaign-phone.png"), full_page=True)


def test_a_burst_of_new_buyers_slows_the_store_but_never_stalls_it(live) -> None:
    """64 phones posting new buyers' orders at once to a fresh `serve --workers 2`, while their friends'
    clicks are being written: every order is taken (201), none waits out the connection pool (503)."""
    cli, base, code = live
    cli("product", "update", "KIWI", "--stock", "1000")
    from concurrent.futures import ThreadPoolExecutor

    def buy(n: int) -> list[int]:
        with requests.Session() as phone:
            statuses = [phone.get(f"{base}/r/{code}", allow_redirects=False, timeout=60).status_code]
            for k in range(3):
                body = {"sku": "KIWI", "qty": 1, "buyer": {"name": f"買家{n}-{k}"}, "ref": code}
                statuses.append(phone.post(f"{base}/api/orders", json=body, timeout=60).status_code)
            return statuses

    with ThreadPoolExecutor(64) as pool:
        statuses = [s for batch in pool.map(buy, range(64)) for s in batch]
    assert statuses.count(302) == 64 and statuses.count(201) == 64 * 3, sorted(set(statuses))
    assert len(cli.json("order", "list")) == 64 * 3
