"""PostgreSQL goes away mid-run: the store answers 503 meanwhile, comes back by itself, and no order or
ledger entry is lost or written twice.

The orders test crashes and restarts a PostgreSQL cluster of its own (the shared server cannot be
restarted under other tests). The landing test takes only its own database away on the shared server:
every connection to it is terminated and new ones are refused for two seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import func, select
from test_live_store import serving

from tests.fixtures import PrivatePostgres, Weishang, free_port, take_database_away
from weishang_core.db import get_sessionmaker
from weishang_core.models import LedgerEntry, Order

BUYERS, ORDERS_EACH = 4, 20


def place_until_done(
    phone: requests.Session, base: str, ref: str, keys: list[str], answers: list[int], seen_503: list[int]
) -> None:
    """A buyer's phone (with its visitor cookie, the scope of its keys): each order is retried with its
    idempotency key until the store takes it."""
    for key in keys:
        deadline = time.monotonic() + 60
        order = {"sku": "KIWI", "qty": 1, "buyer": {"name": f"buyer-{key[:6]}"}, "ref": ref, "idempotency_key": key}
        while True:
            try:
                answer = phone.post(f"{base}/api/orders", timeout=10, json=order)
                if answer.status_code == 201:
                    answers.append(answer.json()["order"]["id"])
                    break
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"].startswith("database:")
                seen_503.append(1)
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"order {key} never went through"
            time.sleep(0.05)


def test_orders_and_commissions_survive_postgresql_restarting(private_postgres: PrivatePostgres, tmp_path: Path):
    """On a PostgreSQL cluster of the test's own, crashed and started again twice: under the store, then
    under the CLI."""
    pg_url = private_postgres.url
    cli = Weishang(pg_url, tmp_path / "home")
    cli("init", "--seller", "老李")
    cli("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90", "--stock", "1000",
        "--commission", "L1=10%,L2=3%")  # fmt: skip
    cli("store", "show", "KIWI")
    cli("reseller", "add", "阿芳", "--sponsor", "老李")
    cli("reseller", "add", "勤妹子", "--sponsor", "阿芳")
    ref = cli.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    with serving(cli, free_port()) as base:
        keys = [[uuid.uuid4().hex for _ in range(ORDERS_EACH)] for _ in range(BUYERS)]
        answers: list[int] = []
        seen_503: list[int] = []
        phones = [requests.Session() for _ in keys]
        assert all(phone.get(f"{base}/p/KIWI", timeout=10).status_code == 200 for phone in phones)
        buyers = [
            threading.Thread(target=place_until_done, args=(phone, base, ref, k, answers, seen_503))
            for phone, k in zip(phones, keys, strict=True)
        ]
        for buyer in buyers:
            buyer.start()
        time.sleep(0.5)
        private_postgres.restart(down_seconds=2.0)
        for buyer in buyers:
            buyer.join(timeout=120)
        assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}  # back by itself
    assert seen_503, "the outage did not meet any order; it proves nothing"
    assert len(answers) == BUYERS * ORDERS_EACH == len(set(answers))
    maker = get_sessionmaker(pg_url)
    with maker() as session:
        placed = session.scalars(select(Order.idempotency_key)).all()
    assert sorted(k.rsplit(":", 1)[1] for k in placed) == sorted(k for batch in keys for k in batch)  # each once
    assert cli.json("product", "show", "KIWI")["stock"] == 1000 - BUYERS * ORDERS_EACH

    # The seller marks them paid from the CLI while the database goes away again.
    refused: list[str] = []
    trouble = threading.Timer(1.0, private_postgres.restart, args=(2.0,))
    trouble.start()
    for order_id in sorted(answers):
        for _ in range(200):
            result = cli("order", "pay", str(order_id), ok=False)
            if result.exit_code == 0 or "that is paid" in result.stderr:
                break
            refused.append(result.stderr.strip())
            assert result.stderr.startswith("Error: database") and "Traceback" not in result.output
            time.sleep(0.05)
    trouble.join()
    with maker() as session:
        entries = session.execute(select(LedgerEntry.order_id, func.count()).group_by(LedgerEntry.order_id)).all()
        paid = session.scalar(select(func.count()).select_from(Order).where(Order.status == "paid"))
    assert paid == BUYERS * ORDERS_EACH
    assert refused, "the second outage did not meet the CLI; it proves nothing"
    assert len(entries) == BUYERS * ORDERS_EACH and {n for _, n in entries} == {2}  # L1 勤妹子 and L2 阿芳, once


def test_a_landing_while_the_database_is_away_answers_503_then_lands(pg_url: str, tmp_path: Path) -> None:
    """A link seen for the first time needs the database; while it is away the visitor is told to retry."""
    from fastapi.testclient import TestClient
    from weishang_webstore.app import create_app

    from weishang_core.config import load_settings

    cli = Weishang(pg_url, tmp_path / "home")
    cli("init", "--seller", "老李")
    cli("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90")
    cli("store", "show", "KIWI")
    cli("reseller", "add", "勤妹子", "--sponsor", "老李")
    code = cli.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    with TestClient(create_app(load_settings(pg_url))) as client:  # its exit writes the buffered click
        outage = threading.Thread(target=take_database_away, args=(pg_url, 2.0))
        outage.start()
        time.sleep(0.5)
        away = client.get(f"/r/{code}", follow_redirects=False)
        outage.join()
        assert (away.status_code, away.headers["retry-after"]) == (503, "2")
        assert away.json()["error"].startswith("database:")
        back = client.get(f"/r/{code}", follow_redirects=False)
        assert (back.status_code, back.headers["location"]) == (302, f"/p/KIWI?via={code}")
