"""Pre-sale campaigns through the CLI: funded and shipped, missed and refunded, a cap that holds."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from weishang_core import campaigns, catalog, orders
from weishang_core.catalog import ProductInput
from weishang_core.errors import UserError
from weishang_core.models import Order, utcnow

DEADLINE = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
AFTER = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")


def peach_campaign(store, target: str, *extra: str) -> tuple[dict, str]:  # type: ignore[no-untyped-def,type-arg]
    store("product", "add", "--sku", "PEACH", "--title", "水蜜桃 預售", "--price", "100.00", "--stock", "0",
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "PEACH")["code"]
    made = store.json("campaign", "create", "--sku", "PEACH", "--target", target, "--deadline", DEADLINE, *extra)
    return made, code


def buy(store, code: str, buyer: str, pay: bool = True) -> int:  # type: ignore[no-untyped-def]
    order = store.json("order", "create", "--sku", "PEACH", "--qty", "1", "--buyer", buyer, "--ref", code)
    if pay:
        store("order", "pay", str(order["id"]))
    return order["id"]


def test_a_campaign_funded_early_sells_up_to_its_cap_and_ships(store) -> None:
    made, code = peach_campaign(store, "200.00", "--max-qty", "5")
    assert made["status"] == "open" and made["percent"] == 0
    first = buy(store, code, "甲")
    assert "pre-order ships once campaign" in store.fails("order", "deliver", str(first))
    buy(store, code, "乙")
    assert store.json("campaign", "show", str(made["id"]))["status"] == "funded"
    for buyer in ("丙", "丁", "戊"):  # funded early, it keeps selling up to what the farm can produce
        buy(store, code, buyer)
    refused = store.fails("order", "create", "--sku", "PEACH", "--qty", "1", "--buyer", "己")
    assert refused == "Error: qty: the campaign has 0 left of its 5, 1 asked for"
    shown = store.json("campaign", "show", str(made["id"]))
    assert shown["raised"] == "500.00" and shown["percent"] == 100 and shown["sold_qty"] == 5
    closed = store.json("campaign", "close", str(made["id"]))
    assert closed["status"] == "fulfilled"
    store("order", "deliver", str(first))
    entries = store.json("commissions", "--reseller", "勤妹子")
    mine = [e for e in entries["entries"] if e["order_id"] == first]
    assert mine[0]["status"] == "pending" and mine[0]["available_at"]  # held until the return window closes


def test_a_campaign_that_misses_its_target_refunds_everyone_exactly(store) -> None:
    made, code = peach_campaign(store, "1000.00")
    paid = [buy(store, code, name) for name in ("甲", "乙", "丙")]
    pending = buy(store, code, "丁", pay=False)
    store("order", "refund", str(paid[0]), "--amount", "30.00", "--reason", "changed mind")
    assert "campaigns closed: 0 fulfilled, 1 failed" in store("settle", "--now", AFTER).stdout
    assert store.json("campaign", "show", str(made["id"]))["status"] == "failed"
    for order_id in paid:
        order = store.json("order", "show", str(order_id))
        assert order["refunded"] == order["paid"] == "100.00"
    assert store.json("order", "show", str(pending))["status"] == "cancelled"
    assert store.json("commissions", "--reseller", "勤妹子")["balances"] == {
        "pending": "0.00",
        "available": "0.00",
        "paid": "0.00",
    }
    assert "already failed" in store.fails("campaign", "cancel", str(made["id"]))


def test_an_order_after_the_deadline_is_refused_and_writes_nothing(store) -> None:
    _, code = peach_campaign(store, "100.00")
    late = store.fails("order", "create", "--sku", "PEACH", "--qty", "1", "--buyer", "甲", "--now", AFTER)
    assert "the campaign ended" in late
    assert store.json("order", "list") == []


def test_campaign_input_is_checked(store) -> None:
    store("product", "add", "--sku", "PEACH", "--title", "水蜜桃", "--price", "100.00")
    args = ("campaign", "create", "--sku", "PEACH", "--deadline", DEADLINE)
    assert store.fails(*args, "--target", "0.00") == "Error: target: must be more than 0.00"
    assert "target" in store.fails(*args, "--target", "12.345")
    assert "deadline: must be in the future" in store.fails(
        "campaign", "create", "--sku", "PEACH", "--target", "1.00", "--deadline", "2020-01-01T00:00"
    )
    assert "min-qty: is larger than max-qty" in store.fails(
        *args, "--target", "1.00", "--min-qty", "5", "--max-qty", "2"
    )
    store(*args, "--target", "1.00")
    assert "already has a running campaign" in store.fails(*args, "--target", "1.00")


def test_thirty_buyers_on_the_last_units_never_exceed_the_cap(pg_url: str, tmp_path: Path) -> None:
    from tests.fixtures import Services

    services = Services(pg_url, tmp_path / "home")
    with services.maker.begin() as session:
        catalog.add(session, services.settings, "PEACH", ProductInput(title="水蜜桃", price="100.00"))
        campaign_id = campaigns.create(session, "PEACH", "100.00", utcnow() + timedelta(days=1), max_qty=10).id
    start = threading.Barrier(30)
    outcomes: list[str] = []

    def buyer(n: int) -> None:
        start.wait()
        try:
            with services.maker.begin() as session:
                orders.create(session, services.settings, "PEACH", 1, f"buyer-{n}")
            outcomes.append("ok")
        except UserError:
            outcomes.append("refused")

    threads = [threading.Thread(target=buyer, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 10 and outcomes.count("refused") == 20
    with services.maker() as session:
        assert campaigns.get(session, campaign_id).sold_qty == 10
        assert session.query(Order).filter(Order.campaign_id == campaign_id).count() == 10


def test_posts_show_the_campaign_and_an_update_can_follow(store) -> None:
    made, code = peach_campaign(store, "500.00")
    store("account", "add", "wechat-share", "--name", "laoli-groups")
    [first] = store.json("distribute", "PEACH")
    assert "眾籌 0.00/500.00 元" in (Path(first["url"]) / "caption.txt").read_text(encoding="utf-8")
    for buyer in ("甲", "乙", "丙", "丁"):
        buy(store, code, buyer)
    [update] = store.json("distribute", "PEACH", "--update", "--note", "已經到 80% 了！")
    assert update["id"] != first["id"] and update["status"] == "published"
    caption = (Path(update["url"]) / "caption.txt").read_text(encoding="utf-8")
    assert "眾籌 400.00/500.00 元" in caption and "80%" in caption
    assert store.json("campaign", "show", str(made["id"]))["percent"] == 80
