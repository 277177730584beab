"""Nobody becomes somebody else by typing their name: the attacks an outside probe found, over HTTP.

Each test failed on the store as it was (a person was the name typed at checkout) and passes now.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from weishang_webstore.app import create_app

from weishang_core.config import load_settings
from weishang_core.db import get_sessionmaker
from weishang_core.models import Order

LATER = "2099-01-01T00:00:00+08:00"  # past every return window and trust hold


@pytest.fixture
def shop(store, monkeypatch):
    """老李's store: KIWI through the web store, 勤妹子 his reseller (no contact given)."""
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "100.00", "--stock", "20",
          "--commission", "L1=10%")  # fmt: skip
    store("store", "show", "KIWI")
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    app = create_app(load_settings(store.url))
    yield store, app
    app.state.clicks.close()


def order(client: TestClient, name: str, contact: str = "", ref: str | None = None) -> dict:
    client.get("/p/KIWI")  # the visitor cookie, as a real phone gets it
    placed = client.post("/api/orders", json={"sku": "KIWI", "buyer": {"name": name, "contact": contact}, "ref": ref})
    assert placed.status_code == 201, placed.text
    return placed.json()


def buyer_of(store, order_id: int) -> int:
    with get_sessionmaker(store.url)() as session:
        return session.scalars(select(Order.buyer_id).where(Order.id == order_id)).one()


def test_a_past_buyers_name_and_a_fresh_unpaid_order_do_not_make_you_their_reseller(shop) -> None:
    store, app = shop
    zhang = TestClient(app)
    first = order(zhang, "張三", "13800138000")
    store("order", "pay", str(first["order"]["id"]))
    store("order", "deliver", str(first["order"]["id"]))

    attacker = TestClient(app)
    fake = order(attacker, "張三", "13800138000")  # his name and even his phone, typed
    refused = attacker.post("/api/resellers", json={"order_token": fake["token"]})
    assert refused.status_code == 400 and refused.json()["error"].startswith("order: ")
    assert "token" not in refused.json()
    assert buyer_of(store, fake["order"]["id"]) != buyer_of(store, first["order"]["id"])  # a new person
    assert [r["name"] for r in store.json("reseller", "list")] == ["勤妹子"]
    assert attacker.get("/api/me").status_code == 401
    became = zhang.post("/api/resellers", json={"order_token": first["token"]})  # his own delivered order
    assert became.status_code == 201 and became.json()["name"] == "張三"


def test_the_token_s_own_order_must_qualify_not_another_order_of_the_same_person(shop) -> None:
    store, app = shop
    phone = TestClient(app)
    delivered = order(phone, "張三")
    store("order", "pay", str(delivered["order"]["id"]))
    store("order", "deliver", str(delivered["order"]["id"]))
    pending = order(phone, "張三")  # the same browser and name: the same person
    assert buyer_of(store, pending["order"]["id"]) == buyer_of(store, delivered["order"]["id"])
    refused = phone.post("/api/resellers", json={"order_token": pending["token"]})
    assert refused.status_code == 400 and "order " in refused.json()["error"]
    refunded = order(phone, "張三")
    for step in ("pay", "deliver", "refund"):
        store("order", step, str(refunded["order"]["id"]))
    assert phone.post("/api/resellers", json={"order_token": refunded["token"]}).status_code == 400
    assert phone.post("/api/resellers", json={"order_token": delivered["token"]}).status_code == 201


def test_a_checkout_reuses_only_the_person_its_own_browser_is(shop) -> None:
    store, app = shop
    phone = TestClient(app)
    first = order(phone, "張三")
    same = order(phone, "張三")
    other_name = order(phone, "李四")  # someone else on the same phone: a person of their own
    elsewhere = order(TestClient(app), "張三")
    ids = [buyer_of(store, placed["order"]["id"]) for placed in (first, same, other_name, elsewhere)]
    assert ids[0] == ids[1] and len(set(ids)) == 3
    no_cookie = TestClient(app).post("/api/orders", json={"sku": "KIWI", "buyer": {"name": "張三"}})
    assert buyer_of(store, no_cookie.json()["order"]["id"]) not in ids


def test_an_order_in_a_resellers_name_does_not_change_her_contact_or_payout(shop, tmp_path: Path) -> None:
    store, app = shop
    code = store.json("link", "create", "--reseller", "勤妹子")["code"]
    sold = order(TestClient(app), "王五", ref=code)
    store("order", "pay", str(sold["order"]["id"]))
    store("order", "deliver", str(sold["order"]["id"]))

    attack = order(TestClient(app), "勤妹子", "ATTACKER_WECHAT_ID")
    assert attack["order"]["buyer"] == "勤妹子"  # the name typed is shown, and is all it is
    store("settle", "--now", LATER)
    [payout] = store.json("payouts", "run", "--min", "0.01")
    assert payout["beneficiary"] == "勤妹子" and payout["contact"] is None
    assert "ATTACKER" not in payout["reference"]
    store("payouts", "export", "--csv", str(tmp_path / "payouts.csv"))
    with (tmp_path / "payouts.csv").open(encoding="utf-8") as rows:
        [row] = list(csv.DictReader(rows))
    assert row["beneficiary"] == "勤妹子" and row["contact"] == "" and "ATTACKER" not in row["reference"]
    assert store.json("order", "list", "--buyer", "勤妹子") == []  # the order is not hers
    assert store.json("reseller", "show", "勤妹子")["identifiers"] == []


def test_a_contact_given_at_checkout_stays_on_the_order_and_its_new_person(shop) -> None:
    from weishang_core.models import Identifier, Identity

    store, app = shop
    store("reseller", "add", "阿芳", "--sponsor", "老李", "--phone", "13900001111")
    placed = order(TestClient(app), "阿芳", "139 0000 1111")  # her verified phone, typed by anyone
    shown = store.json("reseller", "show", "阿芳")["identifiers"]
    assert shown == [{"kind": "phone", "value": "+86 139****1111", "verified": True}]
    assert store.json("order", "list", "--buyer", "阿芳") == []
    with get_sessionmaker(store.url)() as session:
        contact, buyer = session.execute(
            select(Order.contact, Order.buyer_id).where(Order.id == placed["order"]["id"])
        ).one()
        kept = session.scalars(select(Identifier).where(Identifier.identity_id == buyer)).one()
        fang = session.scalars(select(Identity.id).where(Identity.handle == "阿芳")).one()
    assert contact == "139 0000 1111" and buyer != fang
    assert (kept.kind, kept.value, kept.verified) == ("phone", "+8613900001111", False)  # the new person's, unproven


@pytest.mark.parametrize(
    "look_alike", ["勤妹子\ufe0f", "勤妹子\u200d", "勤妹子\u2060", "勤妹子\U000e0041", "\u3164勤妹子"]
)
def test_a_name_with_a_character_drawn_as_nothing_is_refused(shop, look_alike: str) -> None:
    """Probe finding (issue #19): "勤妹子" + U+FE0F passed as a new reseller who reads exactly as 勤妹子."""
    store, app = shop
    client = TestClient(app)
    client.get("/p/KIWI")
    answer = client.post("/api/orders", json={"sku": "KIWI", "buyer": {"name": look_alike}})
    assert answer.status_code in (400, 422) and "invisible" in answer.json()["error"], answer.text
    assert store.fails("reseller", "add", look_alike).startswith("Error: name: ")
    assert store.json("order", "list") == []
