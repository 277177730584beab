"""The web store over HTTP: the referral loop from a reseller's link to two levels of commission."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from weishang_webstore.app import create_app
from weishang_webstore.channel import WebStore

from weishang_core.channels import Account
from weishang_core.config import load_settings
from weishang_core.testing import ChannelConformance, Emulator


class TestWebStoreConformance(ChannelConformance):
    remote = False

    @pytest.fixture
    def channel(self):
        return WebStore()

    @pytest.fixture
    def emulator(self):
        with Emulator() as running:  # the store is this program: no outlet server is called
            yield running

    @pytest.fixture
    def account(self, store, monkeypatch):
        monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
        monkeypatch.setenv("WEISHANG_HOME", str(store.home))
        store("product", "add", "--sku", "KIWI-RED-5KG", "--title", "紅心獼猴桃", "--price", "39.90")
        return Account("shop", "webstore", {}, {})


@pytest.fixture
def shop(store, monkeypatch):
    """老李's store with KIWI on sale through the webstore channel and 勤妹子 as a reseller."""
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))  # as `weishang serve` sets them for its workers
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃 5kg", "--price", "100.00", "--stock", "10",
          "--commission", "L1=10%,L2=3%", "--description", "老李從果園直接採購。")  # fmt: skip
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store("account", "add", "webstore", "--name", "shop")
    [post] = store.json("distribute", "KIWI")
    assert post["status"] == "published" and post["url"] == "http://127.0.0.1:8000/p/KIWI"
    store("account", "add", "webstore", "--name", "qin-shop", "--owner", "勤妹子")
    store("distribute", "KIWI", "--as", "勤妹子", "--note", "孩子最愛吃")
    app = create_app(load_settings(store.url))
    yield store, app
    app.state.clicks.close()


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return found.group(1)


def buy_through_the_page(client: TestClient, page: str, name: str) -> str:
    response = client.post(
        "/buy",
        data={
            "sku": "KIWI",
            "qty": "1",
            "name": name,
            "contact": "wx-" + name,
            "ref": hidden(page, "ref"),
            "csrf": hidden(page, "csrf"),
            "key": hidden(page, "key"),
        },  # fmt: skip
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def test_the_whole_referral_loop_pays_two_levels(shop) -> None:
    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    buyer = TestClient(app)
    landing = buyer.get(f"/r/{code}?utm_source=wechat-groups", follow_redirects=False)
    assert landing.status_code == 302 and landing.headers["location"] == f"/p/KIWI?via={code}"
    assert "httponly" in landing.headers["set-cookie"].lower()
    page = buyer.get(landing.headers["location"]).text
    assert "recommended by 勤妹子" in page and "孩子最愛吃" in page and "¥100.00" in page
    order_page = buy_through_the_page(buyer, page, "張三")
    assert "待" not in order_page and buyer.get(order_page).status_code == 200
    assert "pending" in buyer.get(order_page).text
    store("order", "pay", "1")
    store("order", "deliver", "1")
    offer = buyer.get(order_page).text
    assert "Become a reseller" in offer
    became = buyer.post(
        "/become-reseller",
        data={"order_token": hidden(offer, "order_token"), "csrf": hidden(offer, "csrf")},
        follow_redirects=False,
    )
    assert became.status_code == 303 and became.headers["location"] == "/me"
    zhang = buyer.get("/api/me").json()
    assert zhang["name"] == "張三" and zhang["downline"] == 0
    second_link = zhang["links"][0]["url"].rsplit("/", 1)[1]

    friend = TestClient(app)
    assert friend.get(f"/r/{second_link}?utm_source=moments", follow_redirects=False).status_code == 302
    placed = friend.post("/api/orders", json={"sku": "KIWI", "qty": 1, "buyer": {"name": "李四"}})
    assert placed.status_code == 201, placed.text
    assert placed.json()["order"]["attribution"]["referrer"] == "張三"
    store("order", "pay", "2")
    store("order", "deliver", "2")

    qin = TestClient(app)
    magic = store("store", "magic-link", "勤妹子").stdout.strip()
    assert qin.get(magic.removeprefix("http://127.0.0.1:8000"), follow_redirects=False).status_code == 303
    mine = qin.get("/api/me").json()
    assert mine["name"] == "勤妹子" and mine["downline"] == 1
    earned = {(c["order_id"], c["level"]): (c["amount"], c["status"]) for c in mine["commissions"]}
    assert earned == {(1, 1): ("10.00", "pending"), (2, 2): ("3.00", "pending")}
    assert mine["balances"]["pending"] == "13.00"
    [used] = [link for link in mine["links"] if link["code"] == code]
    assert used["outlets"] == {"wechat-groups": {"clicks": 1, "orders": 1}}
    zhang = buyer.get("/api/me").json()
    assert [(c["order_id"], c["level"], c["amount"]) for c in zhang["commissions"]] == [(2, 1, "10.00")]
    assert zhang["links"][0]["outlets"]["moments"] == {"clicks": 1, "orders": 1}
    assert all(c["available_at"] for c in zhang["commissions"])  # the release date is shown
    assert "¥13.00" in qin.get("/me").text


def test_a_double_submit_makes_one_order(shop) -> None:
    _, app = shop
    client = TestClient(app)
    client.get("/p/KIWI")  # a key is scoped to its caller's visitor cookie; without one there is no replay
    body = {"sku": "KIWI", "qty": 2, "buyer": {"name": "王五"}, "idempotency_key": "form-123456"}
    first, second = client.post("/api/orders", json=body), client.post("/api/orders", json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["order"]["id"] == second.json()["order"]["id"]


def test_forged_and_tampered_requests_are_refused(shop) -> None:
    store, app = shop
    client = TestClient(app)
    page = client.get("/p/KIWI").text
    no_csrf = client.post("/buy", data={"sku": "KIWI", "name": "x", "key": "k" * 12}, follow_redirects=False)
    assert no_csrf.status_code == 403 and "csrf" in no_csrf.json()["error"]
    other = TestClient(app)  # a token from another visitor's page does not fit this visitor's cookie
    other.get("/p/KIWI")
    stolen = other.post("/buy", data={"sku": "KIWI", "name": "x", "key": "k" * 12, "csrf": hidden(page, "csrf")})
    assert stolen.status_code == 403
    assert client.get("/api/me").status_code == 401
    client.cookies.set("ws_session", "1.1700000000.forged")
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer 2.1700000000.forged"}).status_code == 401
    code = store.json("link", "create", "--reseller", "勤妹子")["code"]
    tampered = TestClient(app)
    tampered.cookies.set("ws_visitor", "someone-else.1700000000.badmac")
    landing = tampered.get(f"/r/{code}", follow_redirects=False)
    assert "someone-else" not in landing.headers["set-cookie"]  # the forged visitor id was not adopted


def test_a_reseller_reads_only_their_own_page(shop) -> None:
    store, app = shop
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    fang = TestClient(app)
    fang.get(store("store", "magic-link", "阿芳").stdout.strip().removeprefix("http://127.0.0.1:8000"))
    data = fang.get("/api/me").json()
    assert data["name"] == "阿芳" and data["commissions"] == [] and data["downline"] == 0
    [theirs] = [p["id"] for p in store.json("posts") if p["poster"] == "勤妹子"]
    assert fang.get(f"/api/me/posts?ids={theirs}").json() == []  # another reseller's posts are not hers to watch
    assert fang.get("/signin?t=1.1700000000.forged", follow_redirects=False).status_code == 403


def test_bad_input_gets_a_json_error_naming_the_field(shop) -> None:
    _, app = shop
    client = TestClient(app)
    zero = client.post("/api/orders", json={"sku": "KIWI", "qty": 0, "buyer": {"name": "x"}})
    assert zero.status_code == 422 and zero.json()["error"].startswith("qty:")
    unknown = client.post("/api/orders", json={"sku": "NOPE", "buyer": {"name": "x"}})
    assert unknown.status_code == 404 and "NOPE" in unknown.json()["error"]
    too_many = client.post("/api/orders", json={"sku": "KIWI", "qty": 11, "buyer": {"name": "x"}})
    assert too_many.status_code == 400 and too_many.json()["error"].startswith("qty: only 10 of KIWI left")
    nul = client.post("/api/orders", json={"sku": "\u0000", "buyer": {"name": "x"}})
    assert nul.status_code == 400 and "NUL" in nul.json()["error"]
    assert client.get("/r/NOPE", follow_redirects=False).headers["location"] == "/"
    assert client.get("/healthz").json() == {"status": "ok"}
    assert "/api/orders" in client.get("/openapi.json").json()["paths"]


def test_hiding_a_product_takes_its_page_down(shop) -> None:
    store, app = shop
    client = TestClient(app)
    assert client.get("/p/KIWI").status_code == 200
    assert "KIWI is hidden" in store("store", "hide", "KIWI").stdout
    assert client.get("/p/KIWI").status_code == 404
    assert client.post("/api/orders", json={"sku": "KIWI", "buyer": {"name": "x"}}).status_code == 404


def test_the_order_page_shows_the_payment_method_a_plugin_offers(shop, monkeypatch) -> None:
    from weishang_core import hookimpl
    from weishang_core.plugins import pm

    _, app = shop
    client = TestClient(app)
    placed = client.post("/api/orders", json={"sku": "KIWI", "buyer": {"name": "王五"}}).json()
    assert "Pay ¥100.00 to the seller directly" in client.get(placed["url"]).text

    class FakeWallet:
        def instructions(self, order):  # type: ignore[no-untyped-def]
            return f"scan to pay order {order['id']} with the wallet"

    class WalletPlugin:
        @hookimpl
        def payment_method(self, name):  # type: ignore[no-untyped-def]
            return FakeWallet() if name == "wallet" else None

    plugin = WalletPlugin()
    pm.register(plugin, name="test-wallet")
    try:
        monkeypatch.setenv("WEISHANG_PAYMENT_METHOD", "wallet")
        assert f"scan to pay order {placed['order']['id']} with the wallet" in client.get(placed["url"]).text
        monkeypatch.setenv("WEISHANG_PAYMENT_METHOD", "nope")
        refused = client.get(placed["url"])
        assert refused.status_code == 400 and "WEISHANG_PAYMENT_METHOD" in refused.text
    finally:
        pm.unregister(plugin)


def signed_in(store, app, name: str) -> TestClient:
    client = TestClient(app)
    client.get(store("store", "magic-link", name).stdout.strip().removeprefix("http://127.0.0.1:8000"))
    return client


def test_a_reseller_gets_a_share_kit_and_posts_with_one_click(shop) -> None:
    import io
    import time

    from PIL import Image
    from pyzbar.pyzbar import decode

    store, app = shop
    store("product", "add", "--sku", "PEAR", "--title", "碭山酥梨", "--price", "29.90", "--stock", "5")
    store("store", "show", "PEAR")
    qin = signed_in(store, app, "勤妹子")
    kits = {kit["sku"]: kit for kit in qin.get("/api/me/kits").json()}
    assert set(kits) == {"KIWI", "PEAR"}
    pear = kits["PEAR"]
    assert pear["link"] in pear["caption"] and "¥29.90" in pear["caption"]
    [code] = decode(Image.open(io.BytesIO(qin.get(pear["qr"]).content)))
    assert code.data.decode() == pear["link"]
    assert "一鍵發到我的 1 個渠道" in qin.get("/me").text
    queued = qin.post("/api/me/distribute", json={"sku": "PEAR", "note": "秋天就吃梨"})
    assert queued.status_code == 202 and queued.json()["queued"] == 1
    deadline = time.monotonic() + 10
    while (posts := qin.get("/api/me/posts").json())[0]["status"] != "published" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert posts[0]["sku"] == "PEAR" and posts[0]["status"] == "published" and posts[0]["account"] == "qin-shop"
    form = qin.get("/me/distribute/KIWI?note=甜").text  # the preview: each outlet's rendering, nothing posted
    assert 'data-account="qin-shop"' in form and "already distributed today" in form and "1 of 4 posts today" in form
    assert qin.post("/me/distribute", data={"sku": "KIWI"}, follow_redirects=False).status_code == 403
    clicked = qin.post("/me/distribute", data={"sku": "KIWI", "csrf": hidden(form, "csrf")}, follow_redirects=False)
    assert clicked.status_code == 303 and clicked.headers["location"].startswith("/me/posts?ids=")
    ids = clicked.headers["location"].split("=", 1)[1]
    assert [p["sku"] for p in qin.get(f"/api/me/posts?ids={ids}").json()] == ["KIWI"]
    assert "/api/me/posts?ids=" in qin.get(clicked.headers["location"]).text
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    no_outlets = signed_in(store, app, "阿芳").post("/api/me/distribute", json={"sku": "PEAR"})
    assert no_outlets.status_code == 400 and no_outlets.json()["error"].startswith("outlets:")
    assert TestClient(app).post("/api/me/distribute", json={"sku": "PEAR"}).status_code == 401


def test_a_reseller_can_ask_for_a_new_sign_in_link(shop, caplog) -> None:
    _, app = shop
    client = TestClient(app)
    with caplog.at_level("WARNING", logger="weishang.webstore"):
        asked = client.post("/api/signin-link", json={"name": "勤妹子"})
        unknown = client.post("/api/signin-link", json={"name": "nobody"})
    assert asked.status_code == unknown.status_code == 202 and asked.json() == unknown.json()
    [record] = [r for r in caplog.records if "sign-in link for" in r.getMessage()]
    link = record.getMessage().split(": ", 1)[1]
    client.get(link.removeprefix("http://127.0.0.1:8000"))
    assert client.get("/api/me").json()["name"] == "勤妹子"


def test_clicks_are_written_in_batches_and_none_is_lost(shop) -> None:
    from sqlalchemy import func, select

    from weishang_core.db import get_sessionmaker
    from weishang_core.models import Click

    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子")["code"]
    for i in range(50):  # fifty different phones (no cookie, own addresses): fifty clicks
        assert (
            TestClient(app, client=(f"10.1.0.{i}", 50000))
            .get(f"/r/{code}?utm_source=weibo", follow_redirects=False)
            .status_code
            == 302
        )
    app.state.clicks.flush()
    with get_sessionmaker(store.url)() as session:
        counted = session.scalar(select(func.count()).select_from(Click).where(Click.outlet == "weibo"))
    assert counted == 50
    again = TestClient(app)  # one phone tapping twice within a minute counts once, as before batching
    again.get(f"/r/{code}", follow_redirects=False)
    again.get(f"/r/{code}", follow_redirects=False)
    app.state.clicks.flush()
    with get_sessionmaker(store.url)() as session:
        kept = session.scalar(select(func.count()).select_from(Click).where(Click.counted.is_(True)))
    assert kept == 51


def test_click_spam_from_one_address_counts_at_most_n_and_moves_no_money(shop) -> None:
    """Rotating the user agent used to make every hit count (the address was IP and user agent)."""
    from sqlalchemy import func, select

    from weishang_core.db import get_sessionmaker
    from weishang_core.models import Click, LedgerEntry

    store, app = shop
    most = load_settings(store.url).clicks_per_address
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    address = ("203.0.113.9", 40000)
    for n in range(200):  # a script without cookies and a new user agent each time: 200 "visitors", one address
        agent = {"user-agent": f"Mozilla/5.0 (Linux; Android {n % 14}; SM-{n:04d}) MicroMessenger/8.0.{n}"}
        spam = TestClient(app, client=address, headers=agent).get(f"/r/{code}?utm_source=weibo", follow_redirects=False)
        assert spam.status_code == 302
    neighbour = TestClient(app, client=address)  # a real phone behind the same carrier NAT
    neighbour.get(f"/r/{code}?utm_source=weibo", follow_redirects=False)
    placed = neighbour.post("/api/orders", json={"sku": "KIWI", "qty": 1, "buyer": {"name": "王五"}})
    assert placed.json()["order"]["attribution"]["referrer"] == "勤妹子"  # attribution follows the cookie
    app.state.clicks.flush()
    with get_sessionmaker(store.url)() as session:
        stored = session.scalar(select(func.count()).select_from(Click))
        counted = session.scalar(select(func.count()).select_from(Click).where(Click.counted.is_(True)))
        ledger_before_payment = session.scalar(select(func.count()).select_from(LedgerEntry))
    assert (stored, counted) == (201, most)  # every click kept, all past the address's N marked as not counted
    assert ledger_before_payment == 0
    store("order", "pay", str(placed.json()["order"]["id"]))
    qin = TestClient(app)
    magic = store("store", "magic-link", "勤妹子").stdout.strip()
    qin.get(magic.removeprefix("http://127.0.0.1:8000"), follow_redirects=False)
    mine = qin.get("/api/me").json()
    [used] = [link for link in mine["links"] if link["code"] == code]
    assert used["outlets"] == {"weibo": {"clicks": most, "orders": 1}}
    assert [(c["level"], c["amount"]) for c in mine["commissions"]] == [(1, "10.00")]  # the one real order only


def test_phones_behind_one_carrier_nat_are_each_counted_and_attributed(shop) -> None:
    """N real phones on one address, all with WeChat's user agent of the same version: each is a visitor
    (its own cookie) who counts and is attributed; the address rule only stops what comes past N."""
    store, app = shop
    most = load_settings(store.url).clicks_per_address
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    wechat = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) MicroMessenger/8.0.49"}
    phones = [TestClient(app, client=("100.64.0.1", 30000 + n), headers=wechat) for n in range(most)]
    for phone in phones:
        assert phone.get(f"/r/{code}?utm_source=wechat-groups", follow_redirects=False).status_code == 302
    for n, phone in enumerate(phones):
        placed = phone.post("/api/orders", json={"sku": "KIWI", "qty": 1, "buyer": {"name": f"鄰居{n}"}})
        assert placed.status_code == 201 and placed.json()["order"]["attribution"]["referrer"] == "勤妹子"
    qin = TestClient(app)
    magic = store("store", "magic-link", "勤妹子").stdout.strip()
    qin.get(magic.removeprefix("http://127.0.0.1:8000"), follow_redirects=False)
    [used] = [link for link in qin.get("/api/me").json()["links"] if link["code"] == code]
    assert used["outlets"] == {"wechat-groups": {"clicks": most, "orders": most}}


def test_a_new_link_seen_by_a_crowd_at_once_is_looked_up_once(shop) -> None:
    """A link posted to a large group is first opened by many phones together: one lookup serves them all."""
    import asyncio

    import httpx
    from sqlalchemy import event, func, select

    from weishang_core.db import get_engine, get_sessionmaker
    from weishang_core.models import Click

    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    lookups: list[str] = []

    def seen(conn, cursor, statement: str, *args) -> None:
        if "FROM referral_links" in statement:
            lookups.append(statement)

    async def crowd() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://store") as phone:
            return await asyncio.gather(*(phone.get(f"/r/{code}") for _ in range(100)))

    engine = get_engine(store.url)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        answers = asyncio.run(crowd())
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert {(a.status_code, a.headers["location"]) for a in answers} == {(302, f"/p/KIWI?via={code}")}
    assert len(lookups) == 1, lookups
    app.state.clicks.flush()
    with get_sessionmaker(store.url)() as session:
        assert session.scalar(select(func.count()).select_from(Click)) == 100


def test_a_share_kit_s_folder_on_the_seller_s_machine_is_never_shown_to_a_phone(shop) -> None:
    """Probe finding (issue #19): /api/me/posts gave a reseller the kit's path under WEISHANG_HOME."""
    import time

    store, app = shop
    store("account", "add", "wechat-share", "--name", "qin-groups", "--owner", "勤妹子")
    qin = signed_in(store, app, "勤妹子")
    assert qin.post("/api/me/distribute", json={"sku": "KIWI"}).status_code == 202
    deadline = time.monotonic() + 10
    posts = qin.get("/api/me/posts").json()
    while {p["status"] for p in posts} != {"published"}:
        assert time.monotonic() < deadline, posts
        time.sleep(0.05)
        posts = qin.get("/api/me/posts").json()
    kit = next(p for p in posts if p["channel"] == "wechat-share")
    assert kit["url"] is None and str(store.home) not in qin.get("/api/me/posts").text
    [seen] = [p for p in store.json("posts") if p["channel"] == "wechat-share"]
    assert seen["url"].startswith(str(store.home))  # the seller's own CLI still says where the kit is
