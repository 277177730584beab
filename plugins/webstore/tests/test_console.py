"""The seller's console over HTTP: who gets in, and every screen's job done through the same core."""

from __future__ import annotations

import csv
import io
import re
import time
from html import unescape
from urllib.parse import urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from weishang_webstore.app import create_app
from weishang_webstore.signing import Signer, store_secret

from weishang_core.config import load_settings
from weishang_core.db import get_sessionmaker
from weishang_core.models import Identity, LedgerEntry, Product

STORE = "http://127.0.0.1:8000"


@pytest.fixture
def shop(store, monkeypatch):
    """老李's store: KIWI at ¥100 (L1=10%, L2=3%), 勤妹子 under 阿芳 under 老李, one paid order through 勤妹子."""
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃 5kg", "--price", "100.00", "--stock", "50",
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    store("reseller", "add", "勤妹子", "--sponsor", "阿芳")
    store("account", "add", "webstore", "--name", "shop")
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    store("link", "click", code, "--visitor", "v-zhang", "--outlet", "weibo")
    store("order", "create", "--sku", "KIWI", "--qty", "2", "--buyer", "張三", "--visitor", "v-zhang")
    app = create_app(load_settings(store.url))
    yield store, app
    app.state.clicks.close()


def signed_in(store, app, *identity: str) -> TestClient:
    client = TestClient(app)
    link = store("console-link", *identity).stdout.strip()
    landed = client.get(link.removeprefix(STORE), follow_redirects=False)
    assert landed.status_code == 303 and landed.headers["location"] == "/console"
    return client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def once_of(html: str, action: str | None = None) -> str:
    """The one-time token of the page's form (of the status button for ``action``, if given)."""
    before = rf'name="action" value="{action}">' if action else ""
    found = re.search(before + r'<input type="hidden" name="once" value="([^"]+)"', html)
    assert found, f"the page has no one-time token{' for ' + action if action else ''}"
    return found.group(1)


def form_error(html: str) -> str:
    found = re.search(r'id="form-error">([^<]*)<', html)
    assert found, "the page shows no form error"
    return unescape(found.group(1))


def console_paths(app) -> list[tuple[str, str]]:
    paths = []
    routes = [sub for r in app.routes for sub in getattr(getattr(r, "original_router", None), "routes", [r])]
    for route in routes:
        path = getattr(route, "path", "")
        if path.startswith("/console") and path not in ("/console/login", "/console/signin"):
            concrete = re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "KIWI", path)
            paths += [(method, concrete) for method in sorted(route.methods or ())]
    return paths


def test_without_a_session_every_console_url_goes_to_sign_in(shop) -> None:
    store, app = shop
    anonymous = TestClient(app)
    paths = console_paths(app)
    assert len(paths) > 20
    for method, path in paths:
        answer = anonymous.request(method, path, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/console/login"), (method, path)
    assert "weishang console-link" in anonymous.get("/console").text


def test_a_console_link_works_once_and_a_forged_one_never(shop) -> None:
    store, app = shop
    link = store("console-link").stdout.strip()
    assert link.startswith(f"{STORE}/console/signin?t=")
    first = TestClient(app)
    landed = first.get(link.removeprefix(STORE), follow_redirects=False)
    assert landed.status_code == 303
    cookie = landed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "老李" in first.get("/console").text
    again = TestClient(app).get(link.removeprefix(STORE))
    assert "used already" in again.text and "/console/login" in str(again.url)
    token = link.split("t=", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert "invalid or has expired" in TestClient(app).get(f"/console/signin?t={forged}").text
    with get_sessionmaker(store.url).begin() as session:
        sign = Signer(store_secret(session))
        seller = session.scalar(select(Identity).where(Identity.handle == "老李"))
        old = sign.sign("console-link", f"{seller.id}:stale-nonce", now=time.time() - 16 * 60)
    assert "invalid or has expired" in TestClient(app).get(f"/console/signin?t={old}").text


def test_resellers_never_reach_the_console(shop) -> None:
    store, app = shop
    assert "neither the seller nor staff" in store.fails("console-link", "--identity", "勤妹子")
    reseller = TestClient(app)
    reseller.get(store("store", "magic-link", "勤妹子").stdout.strip().removeprefix(STORE))
    assert reseller.get("/me").status_code == 200  # signed in to the store ...
    answer = reseller.get("/console/orders", follow_redirects=False)  # ... but not to the console
    assert answer.headers["location"] == "/console/login"
    with get_sessionmaker(store.url).begin() as session:
        sign = Signer(store_secret(session))
        qin = session.scalar(select(Identity).where(Identity.handle == "勤妹子"))
        reseller_session = sign.sign("session", str(qin.id))
        as_console = sign.sign("console", f"{qin.id}:nonce")  # even a correctly signed cookie for a reseller
    for cookie in (reseller_session, as_console):
        client = TestClient(app, cookies={"ws_console": cookie})
        assert client.get("/console/money", follow_redirects=False).headers["location"] == "/console/login"


def test_staff_get_in_until_they_are_removed(shop) -> None:
    store, app = shop
    assert "may use the console" in store("staff", "add", "小王").stdout
    assert store.json("staff", "list") == [{"name": "小王"}]
    wang = signed_in(store, app, "--identity", "小王")
    assert wang.get("/console/orders").status_code == 200
    store("staff", "remove", "小王")
    assert wang.get("/console/orders", follow_redirects=False).headers["location"] == "/console/login"
    assert "is the seller" in store.fails("staff", "add", "老李")


def test_forms_without_the_csrf_token_are_refused(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    data = {"sku": "PEAR", "title": "梨", "price": "9.90"}
    refused = seller.post("/console/products/new", data=data)
    assert refused.status_code == 403 and refused.json()["error"].startswith("csrf:")
    other = signed_in(store, app)  # another session's token does not do either
    stolen = csrf_of(other.get("/console/products/new").text)
    assert seller.post("/console/products/new", data={**data, "csrf": stolen}).status_code == 403
    with get_sessionmaker(store.url)() as session:
        assert session.scalar(select(Product).where(Product.sku == "PEAR")) is None
    mine = csrf_of(seller.get("/console/products/new").text)
    assert seller.post("/console/products/new", data={**data, "csrf": mine}, follow_redirects=False).status_code == 303


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_product_is_added_with_a_photo_from_the_phone(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    form = seller.get("/console/products/new").text
    assert "at most 2 level(s)" in form  # the compliance profile's limit is shown ...
    fields = {"csrf": csrf_of(form), "sku": "PEAR", "title": "雪梨 3kg", "price": "29.90", "stock": "8",
              "commission": "L1=8%"}  # fmt: skip
    added = seller.post(
        "/console/products/new", data=fields, files={"photo": ("pear.png", png(4000, 3000), "image/png")}
    )
    assert added.status_code == 200 and "PEAR added" in added.text
    product = store.json("product", "show", "PEAR")
    assert (product["price"], product["stock"], product["commission"]) == ("29.90", 8, "L1=8%")
    [photo] = product["images"]
    stored = Image.open(store.home / "media" / photo)
    assert stored.format == "JPEG" and max(stored.size) == 1600  # resized for the outlets
    assert seller.get(f"/media/{photo}").status_code == 200

    bad = {**fields, "sku": "PLUM", "commission": "L1=5%,L2=2%,L3=1%"}  # ... and enforced
    refused = seller.post("/console/products/new", data=bad)
    assert refused.status_code == 400 and "L3 is above the 2 level(s)" in form_error(refused.text)
    corrupt = seller.post("/console/products/new", data={**fields, "sku": "PLUM", "commission": ""},
                          files={"photo": ("plum.png", png(10, 10)[:40], "image/png")})  # fmt: skip
    assert corrupt.status_code == 400 and form_error(corrupt.text).startswith("photo: 'plum.png': not a readable")
    not_image = seller.post("/console/products/new", data={**fields, "sku": "PLUM", "commission": ""},
                            files={"photo": ("plum.png", b"%PDF-1.4 not a picture", "image/png")})  # fmt: skip
    assert not_image.status_code == 400 and "not a JPEG, PNG, GIF or WebP" in form_error(not_image.text)
    assert "no product" in store.fails("product", "show", "PLUM")

    edit = seller.get("/console/products/PEAR").text
    saved = seller.post("/console/products/PEAR", data={"csrf": csrf_of(edit), "title": "雪梨 3kg", "price": "27.50",
                                                        "stock": "7", "commission": "L1=8%"})  # fmt: skip
    assert "saved" in saved.text and store.json("product", "show", "PEAR")["price"] == "27.50"


def test_distribute_previews_every_outlet_then_publishes_with_live_status(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    preview = seller.get("/console/products/KIWI/distribute?note=今天到貨").text
    assert 'data-account="shop"' in preview and "0 of 4 posts today" in preview
    assert store.json("posts") == []  # a preview posts nothing
    published = seller.post("/console/products/KIWI/distribute", data={"csrf": csrf_of(preview), "note": "今天到貨"},
                            follow_redirects=False)  # fmt: skip
    assert published.status_code == 303 and published.headers["location"].startswith("/console/posts?ids=")
    feed = "/console/api/posts?" + published.headers["location"].split("?", 1)[1]
    assert feed in seller.get(published.headers["location"]).text
    deadline = time.monotonic() + 15
    while (posts := seller.get(feed).json())[0]["status"] != "published" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(p["account"], p["status"], p["url"]) for p in posts] == [("shop", "published", f"{STORE}/p/KIWI")]


def test_a_refund_shows_its_commission_effect_before_it_happens(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    order = seller.get("/console/orders/1").text
    for action in ("pay", "deliver"):
        sent = {"csrf": csrf_of(order), "action": action, "once": once_of(order, action)}
        done = seller.post("/console/orders/1/status", data=sent)
        assert done.status_code == 200
    assert 'id="order-status">delivered' in done.text
    assert [(c["beneficiary"], c["amount"]) for c in store.json("commissions")["entries"]] == [
        ("勤妹子", "20.00"),
        ("阿芳", "6.00"),
    ]
    confirm = seller.post("/console/orders/1/refund", data={"csrf": csrf_of(done.text), "amount": "100.00"})
    assert confirm.status_code == 200 and "¥100.00" in confirm.text
    assert re.findall(r'<tr class="change"><td>(\S+)</td><td>L(\d)</td><td>¥(-?[\d.]+)</td>', confirm.text) == [
        ("勤妹子", "1", "-10.00"),
        ("阿芳", "2", "-3.00"),
    ]
    assert store.json("order", "show", "1")["refunded"] == "0.00"  # nothing happened yet
    refunded = seller.post("/console/orders/1/refund",
                           data={"csrf": csrf_of(confirm.text), "amount": "100.00", "confirm": "yes",
                                 "once": once_of(confirm.text)})  # fmt: skip
    assert "refunded ¥100.00" in refunded.text
    with get_sessionmaker(store.url)() as session:
        net = dict(
            session.execute(
                select(Identity.handle, func.sum(LedgerEntry.amount_fen))
                .join(Identity, Identity.id == LedgerEntry.beneficiary_id)
                .group_by(Identity.handle)
            ).all()
        )
    assert net == {"勤妹子": 1000, "阿芳": 300}
    too_much = seller.post("/console/orders/1/refund", data={"csrf": csrf_of(refunded.text), "amount": "500.00"})
    assert too_much.status_code == 409 and "more than the 100.00 left" in too_much.text  # the order's state refuses


def test_money_payouts_and_their_csv(shop) -> None:
    store, app = shop
    store("order", "pay", "1", "--now", "2026-01-01T10:00:00+08:00")
    store("order", "deliver", "1", "--now", "2026-01-02T10:00:00+08:00")
    seller = signed_in(store, app)
    page = seller.get("/console/money").text
    assert 'data-person="勤妹子"' in page and "¥20.00" in page and "2026-01" in page  # held, with its release date
    store("settle", "--now", "2026-03-01T00:00:00+08:00")
    ran = seller.post("/console/money/payouts", data={"csrf": csrf_of(page), "minimum": "1.00", "once": once_of(page)})
    assert "2 payout(s), ¥26.00 in all" in ran.text
    rows = list(csv.DictReader(io.StringIO(seller.get("/console/money/payouts.csv").text)))
    assert sorted((r["beneficiary"], r["amount"]) for r in rows) == [("勤妹子", "20.00"), ("阿芳", "6.00")]


def test_campaigns_are_created_watched_and_closed(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    page = seller.get("/console/campaigns").text
    made = seller.post("/console/campaigns", data={"csrf": csrf_of(page), "sku": "KIWI", "target": "1000", "days": "3"})
    assert "campaign 1 is open" in made.text and 'data-id="1"' in made.text
    assert store.json("campaign", "show", "1")["target"] == "1000.00"
    closed = seller.post("/console/campaigns/1/close", data={"csrf": csrf_of(made.text)})
    assert "campaign 1 is failed" in closed.text and store.json("campaign", "show", "1")["status"] == "failed"


def test_the_dashboard_and_weishang_report_show_the_same_funnel(shop, tmp_path) -> None:
    store, app = shop
    store("order", "pay", "1")
    seller = signed_in(store, app)
    report = store.json("report", "--days", "30")
    shown = seller.get("/console/api/report?days=30").json()
    assert {k: v for k, v in shown.items() if k != "since"} == {k: v for k, v in report.items() if k != "since"}
    weibo = next(f for f in report["outlets"] if f["name"] == "weibo")
    assert (weibo["clicks"], weibo["orders"], weibo["revenue"], weibo["commissions"]) == (1, 1, "200.00", "26.00")
    qin = next(f for f in report["resellers"] if f["name"] == "勤妹子")
    assert (qin["clicks"], qin["orders"], qin["revenue"], qin["commissions"]) == (1, 1, "200.00", "20.00")
    assert report["tree"] == [
        {"name": "老李", "role": "seller", "children": [
            {"name": "阿芳", "role": "reseller", "children": [{"name": "勤妹子", "role": "reseller", "children": []}]}
        ]}
    ]  # fmt: skip
    page = seller.get("/console").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" id="outlets"' in page
    assert 'data-name="weibo" data-stage="revenue">200.00<' in page
    assert 'id="total-orders">1<' in page
    svg = tmp_path / "report.svg"
    store("report", "--svg", str(svg))
    assert svg.read_text().count("<svg") == 4 and "勤妹子" in svg.read_text()
    assert "days: 0 is out of range" in store.fails("report", "--days", "0")


def test_weibo_is_connected_through_oauth_in_the_browser(shop) -> None:
    from weishang_weibo.testing import WeiboEmulator

    store, app = shop
    seller = signed_in(store, app)
    form = seller.get("/console/outlets/new?channel=weibo").text
    assert 'type="password"' in form and f'value="{STORE}/console/oauth/callback"' in form
    with WeiboEmulator() as weibo:
        fields = {"csrf": csrf_of(form), "channel": "weibo", "name": "laoli-wb", "daily_cap": "4",
                  "opt_app_key": weibo.app_key, "opt_app_secret": weibo.app_secret,
                  "opt_redirect_uri": f"{STORE}/console/oauth/callback", "opt_safe_domain": "127.0.0.1",
                  "opt_api_base": weibo.base_url}  # fmt: skip
        saved = seller.post("/console/outlets/new", data=fields, follow_redirects=False)
        assert saved.headers["location"] == "/console/outlets/laoli-wb/authorize"
        to_weibo = seller.get(saved.headers["location"], follow_redirects=False).headers["location"]
        assert to_weibo.startswith(f"{weibo.base_url}/oauth2/authorize?")
        consent = requests.get(to_weibo, headers={"Accept": "text/html"}, timeout=5)
        assert 'id="allow"' in consent.text
        back = requests.post(f"{weibo.base_url}/oauth2/authorize", data=dict(re.findall(
            r'name="(\w+)" value="([^"]*)"', consent.text)), allow_redirects=False, timeout=5)  # fmt: skip
        returned = urlsplit(back.headers["Location"])
        done = seller.get(f"{returned.path}?{returned.query}")
        assert f"laoli-wb: connected to Weibo user {weibo.uid}" in done.text
        [account] = [a for a in store.json("account", "list") if a["name"] == "laoli-wb"]
        assert account["options"]["app_secret"] == "********" and account["status"] == "ok"
        assert weibo.app_secret not in seller.get("/console/outlets").text
        forged = seller.get("/console/oauth/callback?state=forged&code=x")
        assert forged.status_code == 400 and "state:" in forged.text


def test_an_exchange_is_confirmed_first_and_moves_no_money(shop) -> None:
    store, app = shop
    store("order", "pay", "1")
    store("order", "deliver", "1")
    before = store.json("commissions")
    seller = signed_in(store, app)
    page = seller.get("/console/orders/1").text
    confirm = seller.post("/console/orders/1/exchange", data={"csrf": csrf_of(page), "qty": "1", "reason": "壓壞"})
    assert 'id="stock-after">47<' in confirm.text and "No money moves" in confirm.text
    assert store.json("product", "show", "KIWI")["stock"] == 48  # nothing happened yet
    sure = {
        "csrf": csrf_of(confirm.text),
        "qty": "1",
        "reason": "壓壞",
        "confirm": "yes",
        "once": once_of(confirm.text),
    }
    done = seller.post("/console/orders/1/exchange", data=sure)
    assert "1 unit(s) exchanged" in done.text
    assert store.json("product", "show", "KIWI")["stock"] == 47 and store.json("commissions") == before
    too_many = seller.post("/console/orders/1/exchange", data={"csrf": csrf_of(done.text), "qty": "5"})
    assert too_many.status_code == 409 and "can still be exchanged" in too_many.text


def test_an_outlet_is_connected_and_checked_from_the_console(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    form = seller.get("/console/outlets/new?channel=wechat-share").text
    saved = seller.post("/console/outlets/new", data={"csrf": csrf_of(form), "channel": "wechat-share",
                                                      "name": "laoli-groups", "daily_cap": "3"})  # fmt: skip
    assert "laoli-groups connected" in saved.text
    [account] = [a for a in store.json("account", "list") if a["name"] == "laoli-groups"]
    assert (account["channel"], account["daily_cap"], account["owner"]) == ("wechat-share", 3, "老李")
    checked = seller.post("/console/outlets/laoli-groups/check", data={"csrf": csrf_of(saved.text)})
    assert "laoli-groups: ok" in checked.text
    bad = seller.post("/console/outlets/new", data={"csrf": csrf_of(checked.text), "channel": "wechat-share",
                                                    "name": "laoli-groups", "daily_cap": "3"})  # fmt: skip
    assert bad.status_code == 400 and "already exists" in unescape(bad.text)


def test_the_sign_in_page_shows_only_refusals_the_store_made(shop) -> None:
    """Probe finding (issue #19): any text in ``?error=`` was shown as an official red notice."""
    _, app = shop
    bait = "请添加微信 attacker123 重新登录"
    page = TestClient(app).get("/console/login", params={"error": bait})
    assert page.status_code == 401 and bait not in page.text and 'id="login-error"' not in page.text
    forged = TestClient(app).get("/console/signin?t=1:nonce.1.bad", follow_redirects=False)
    shown = TestClient(app).get(forged.headers["location"])
    assert "invalid or has expired" in shown.text
