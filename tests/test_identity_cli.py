"""People on the command line: identifiers the seller vouches for, shown masked; a buyer's name is no key."""

from __future__ import annotations

import pytest


def test_the_seller_vouches_for_identifiers_and_listings_mask_them(store) -> None:
    store("init", "--phone", "+86 139 0000 1111", "--email", "LaoLi@Example.com")
    store("reseller", "add", "勤妹子", "--sponsor", "老李", "--phone", "13800138000", "--email", "Qin@Example.com")
    shown = store.json("reseller", "show", "勤妹子")
    assert shown["identifiers"] == [
        {"kind": "phone", "value": "+86 138****8000", "verified": True},
        {"kind": "email", "value": "q***@example.com", "verified": True},
    ]
    [listed] = store.json("reseller", "list")
    assert listed["identifiers"] == shown["identifiers"]
    assert "13800138000" not in store("reseller", "show", "勤妹子").stdout
    # A verified identifier is one person's: the seller cannot give 勤妹子's phone to someone else.
    refused = store.fails("reseller", "add", "小王", "--sponsor", "老李", "--phone", "+8613800138000")
    assert refused == "Error: phone: +86 138****8000 is already someone else's verified phone"
    assert [r["name"] for r in store.json("reseller", "list")] == ["勤妹子"]  # nothing half-written
    store("staff", "add", "小美", "--email", "mei@example.com")


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--phone", "12345", "phone: '12345' is not a phone number"),
        ("--phone", "+86 12345678901", "phone: '+86 12345678901' is not a mainland mobile number"),
        ("--phone", "+0012", "phone: '+0012' is not a phone number"),
        ("--email", "not-an-email", "email: 'not-an-email' is not an email address"),
    ],
)
def test_bad_identifiers_are_refused_naming_the_field(store, option: str, value: str, problem: str) -> None:
    assert problem in store.fails("reseller", "add", "勤妹子", "--sponsor", "老李", option, value)
    assert store.json("reseller", "list") == []


def test_phones_are_normalised_to_e164(store) -> None:
    for n, typed in enumerate(["+852 9123 4567", "0085291234568", "8613800138001", "+1 (415) 555-0100"]):
        store("reseller", "add", f"r{n}", "--phone", typed)
    values = [store.json("reseller", "show", f"r{n}")["identifiers"][0]["value"] for n in range(4)]
    assert values == ["+852 912****4567", "+852 912****4568", "+86 138****8001", "+1 415****0100"]


def test_a_typed_buyer_name_is_a_new_buyer_unless_it_is_one_of_the_sellers_people(store) -> None:
    store("product", "add", "--sku", "KIWI", "--title", "Kiwi", "--price", "10.00", "--stock", "9")
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    code = store.json("link", "create", "--reseller", "勤妹子")["code"]
    first = store.json("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "張三", "--ref", code)
    second = store.json("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "張三")
    own = store.json("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "勤妹子", "--ref", code)
    assert own["attribution"]["no_commission_reason"] == "self-referral: the buyer is the referrer"
    for made in (first, second):
        store("order", "pay", str(made["id"]))
        store("order", "deliver", str(made["id"]))
    assert [o["buyer"] for o in store.json("order", "list", "--buyer", "張三")] == ["張三", "張三"]
    # Two buyers are called 張三: the seller says whose purchase makes a reseller.
    assert "2 buyers are called '張三' (orders 1, 2); say whose with --order ID" in store.fails(
        "reseller", "add", "張三"
    )
    made = store.json("reseller", "add", "張三", "--order", str(first["id"]))
    assert (made["name"], made["sponsor"]) == ("張三", "勤妹子")
    assert "is already a reseller" in store.fails("reseller", "add", "張三")
    assert store.json("reseller", "add", "老張", "--order", str(second["id"]))["sponsor"] == "老李"
