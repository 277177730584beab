"""Migration 0005: a store made before identity-by-proof keeps its people, ids, orders and contacts."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from tests.fixtures import Weishang
from weishang_core import migrate
from weishang_core.db import get_engine

PEOPLE = [  # id, handle, contact, seller, reseller, staff
    (1, "老李", None, True, False, False),
    (2, "勤妹子", "138 0013 8000", False, True, False),
    (3, "張三", "Zhang.San@Example.COM", False, False, False),
    (4, "李四", "wx-lisi", False, False, False),
    (5, "小美", None, False, False, True),
    (6, "王五", None, False, False, False),
]


def _a_0004_store(url: str) -> None:
    engine = get_engine(url)
    config = migrate._config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        for pid, handle, contact, seller, reseller, staff in PEOPLE:
            connection.execute(
                text(
                    "INSERT INTO identities (id, handle, contact, is_seller, is_reseller, is_staff, sponsor_id, depth,"
                    " created_at) VALUES (:i, :h, :c, :s, :r, :st, :sp, :d, '2026-01-01 00:00:00')"
                ),
                {"i": pid, "h": handle, "c": contact, "s": seller, "r": reseller, "st": staff,
                 "sp": 1 if reseller else None, "d": 1 if reseller else 0},
            )  # fmt: skip
        connection.execute(text("INSERT INTO store_settings (key, value) VALUES ('seller', '老李')"))
        connection.execute(
            text(
                "INSERT INTO products (id, sku, title, description, images, facts, price_fen, stock, status,"
                " created_at, updated_at) VALUES (1, 'KIWI', 'Kiwi', '', '[]', '{}', 3990, 5, 'active',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO orders (id, buyer_id, status, total_fen, paid_fen, refunded_fen, contact, referrer_id,"
                " created_at) VALUES (7, 3, 'pending', 3990, 0, 0, 'Zhang.San@Example.COM', 2, '2026-01-02 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO order_lines (id, order_id, product_id, qty, unit_price_fen, refunded_qty, refunded_fen,"
                " exchanged_qty) VALUES (1, 7, 1, 1, 3990, 0, 0, 0)"
            )
        )
        if engine.dialect.name == "postgresql":  # rows inserted with their ids: move the sequence past them
            connection.execute(text("SELECT setval('identities_id_seq', 6)"))
            for table, last in (("orders", 7), ("products", 1), ("order_lines", 1)):
                connection.execute(text(f"SELECT setval('{table}_id_seq', {last})"))


def test_a_0004_store_with_people_is_upgraded_and_keeps_them(db_url: str, tmp_path: Path) -> None:
    _a_0004_store(db_url)
    assert migrate.upgrade(get_engine(db_url)) == ("0004", migrate.head_revision())
    with get_engine(db_url).connect() as connection:
        people = connection.execute(text("SELECT id, handle, display_name FROM identities ORDER BY id")).all()
        found = connection.execute(
            text("SELECT identity_id, kind, value, verified FROM identifiers ORDER BY identity_id")
        ).all()
        order = connection.execute(text("SELECT buyer_id, contact, referrer_id FROM orders")).one()
    assert [tuple(p) for p in people] == [
        (1, "老李", "老李"),
        (2, "勤妹子", "勤妹子"),
        (3, None, "張三"),  # a plain buyer: a display name, no handle
        (4, None, "李四"),
        (5, "小美", "小美"),
        (6, None, "王五"),
    ]
    assert [(i, k, v, bool(ok)) for i, k, v, ok in found] == [
        (2, "phone", "+8613800138000", False),
        (3, "email", "zhang.san@example.com", False),
        (4, "wechat_id", "wx-lisi", False),
    ]
    assert tuple(order) == (3, "Zhang.San@Example.COM", 2)

    cli = Weishang(db_url, tmp_path / "home")
    shown = cli.json("reseller", "show", "勤妹子")
    assert shown["identifiers"] == [{"kind": "phone", "value": "+86 138****8000", "verified": False}]
    assert cli.json("order", "show", "7")["buyer"] == "張三"
    assert cli.json("order", "list", "--buyer", "張三")[0]["id"] == 7
    cli("order", "create", "--sku", "X", "--qty", "1", "--buyer", "張三", ok=False)  # no product: refused
    again = cli.json("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "張三")
    assert again["buyer"] == "張三" and again["id"] == 8  # another 張三: two people of one name
    assert [o["id"] for o in cli.json("order", "list", "--buyer", "張三")] == [7, 8]
    assert cli.json("staff", "list") == [{"name": "小美"}]
