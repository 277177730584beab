"""`weishang order import`: a file of paid orders ends exactly as the same orders placed one by one would."""

from __future__ import annotations

from pathlib import Path

import pytest

PAID, DELIVERED = "2026-11-01T10:00", "2026-11-03T10:00"
LATER = "2027-06-01T00:00:00+08:00"  # past every return window and trust hold


@pytest.fixture
def shop(store):
    """Two products alike but for their sku; 勤妹子 under 老李, 小王 under 勤妹子; a 李四 bound to 勤妹子."""
    for sku in ("KIWI", "PEAR"):
        store("product", "add", "--sku", sku, "--title", sku.title(), "--price", "39.90", "--stock", "50",
              "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store("reseller", "add", "小王", "--sponsor", "勤妹子")
    qin = store.json("link", "create", "--reseller", "勤妹子")["code"]
    store("link", "click", qin, "--visitor", "v-li", "--now", "2026-10-31T10:00")
    store(
        "order",
        "create",
        "--sku",
        "KIWI",
        "--qty",
        "1",
        "--buyer",
        "李四",
        "--visitor",
        "v-li",
        "--now",
        "2026-10-31T10:05",
    )  # fmt: skip  (binds this 李四, and only him, to 勤妹子)
    return store


def orders_of(shop, sku: str) -> list[tuple]:
    return [
        (o["buyer"], o["qty"], o["total"], o["status"], o["attribution"]["referrer"], o["attribution"]["rule"],
         o["attribution"]["no_commission_reason"])
        for o in shop.json("order", "list") if o["sku"] == sku and o["status"] != "pending"
    ]  # fmt: skip


def commissions_of(shop, order_ids: list[int]) -> list[tuple]:
    position = {order_id: n for n, order_id in enumerate(order_ids)}
    entries = shop.json("commissions")["entries"]
    return sorted(
        (position[e["order_id"]], e["beneficiary"], e["level"], e["amount"], e["status"])
        for e in entries
        if e["order_id"] in position
    )


def test_an_imported_file_ends_as_the_same_orders_placed_one_by_one(shop, tmp_path: Path) -> None:
    codes = {who: shop.json("link", "create", "--reseller", who)["code"] for who in ("勤妹子", "小王")}
    rows = [  # buyer, qty, whose code (None: the buyer's binding, if any), delivered
        ("張三", 2, "勤妹子", True),
        ("李四", 1, None, True),  # no code: a typed name is a new buyer, not the 李四 whose click bound him
        ("小王", 1, "小王", True),  # their own code: no commission
        ("趙六", 3, "勤妹子", False),  # paid, not delivered yet: no release date
        ("孫七", 1, None, True),  # nobody referred them
        ("張三", 1, "小王", True),  # 小王 at L1, 勤妹子 at L2
    ]
    by_hand = []
    for buyer, qty, ref, delivered in rows:
        made = shop.json("order", "create", "--sku", "KIWI", "--qty", str(qty), "--buyer", buyer,
                         *(["--ref", codes[ref]] if ref else []), "--now", PAID)  # fmt: skip
        shop("order", "pay", str(made["id"]), "--now", PAID)
        if delivered:
            shop("order", "deliver", str(made["id"]), "--now", DELIVERED)
        by_hand.append(made["id"])

    file = tmp_path / "chat-orders.csv"
    lines = ["key,sku,qty,buyer,ref,paid_at,delivered_at"]
    for n, (buyer, qty, ref, delivered) in enumerate(rows, start=1):
        lines.append(f"WX-{n},PEAR,{qty},{buyer},{codes[ref] if ref else ''},{PAID},{DELIVERED if delivered else ''}")
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = shop.json("order", "import", str(file))
    assert done == {"imported": 6, "skipped": 0, "total": "359.10", "commissions": "25.14"}
    imported = [o["id"] for o in shop.json("order", "list") if o["sku"] == "PEAR"]

    assert orders_of(shop, "PEAR") == orders_of(shop, "KIWI")
    assert commissions_of(shop, imported) == commissions_of(shop, by_hand)
    assert shop.json("product", "show", "PEAR")["stock"] == shop.json("product", "show", "KIWI")["stock"] + 1
    assert shop.json("order", "import", str(file)) == {"imported": 0, "skipped": 6, "total": "0.00",
                                                        "commissions": "0.00"}  # fmt: skip
    shop("settle", "--now", LATER)
    assert commissions_of(shop, imported) == commissions_of(shop, by_hand)  # released alike
    released = {e[4] for e in commissions_of(shop, imported)}
    assert released == {"available", "pending"}  # 趙六's order is not delivered: its commissions wait
    for order_id in (imported[0], by_hand[0]):  # an imported order is an order like any other: refund half
        shop("order", "refund", str(order_id), "--amount", "39.90", "--reason", "soft kiwis")
    assert commissions_of(shop, imported) == commissions_of(shop, by_hand)  # reversed alike
    assert any(e["kind"] == "reversal" and e["order_id"] == imported[0] for e in shop.json("commissions")["entries"])


def test_a_bad_row_imports_nothing_and_is_named(shop, tmp_path: Path) -> None:
    code = shop.json("link", "create", "--reseller", "勤妹子")["code"]
    before = (shop.json("order", "list"), shop.json("product", "show", "PEAR")["stock"])
    cases = {
        f"A1,PEAR,1,張三,{code}\nA2,PEAR,1,李四,NOSUCHCODE\n": "row 2: ref: no referral link 'NOSUCHCODE'",
        "A1,PEAR,30,張三,\nA2,PEAR,30,李四,\n": "qty: only 50 of PEAR left, the file asks for 60",
        "A1,PEAR,1,張三,\nA1,PEAR,1,李四,\n": "row 2: key: 'A1' appears twice in the file",
        "A1,PEAR,0,張三,\n": "row 1: qty: '0' must be a whole number from 1 to 10000",
        "A1,PLUM,1,張三,\n": "row 1: sku: no product PLUM",
        "A1,PEAR,1,,\n": "row 1: buyer: must not be empty",
    }
    for body, message in cases.items():
        file = tmp_path / "orders.csv"
        file.write_text("key,sku,qty,buyer,ref\n" + body, encoding="utf-8")
        error = shop.fails("order", "import", str(file))
        assert error == f"Error: {file}: {message}"
    file.write_text("key,sku,qty,buyer,paid_at\nA1,PEAR,1,張三,2099-01-01T00:00\n", encoding="utf-8")
    assert "row 1: paid_at: '2099-01-01T00:00' is in the future" in shop.fails("order", "import", str(file))
    file.write_text("key,sku,qty,price\n", encoding="utf-8")
    assert "the header row lacks buyer" in shop.fails("order", "import", str(file))
    assert (shop.json("order", "list"), shop.json("product", "show", "PEAR")["stock"]) == before
