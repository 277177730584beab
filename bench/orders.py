"""Orders and settlement: N paid and delivered orders (default 100,000), each by its own buyer through a
reseller two levels down, imported on PostgreSQL as ``weishang order import`` does (a CSV file read,
checked and written in one transaction), then ``settle`` releasing all their commissions. For contrast,
a few thousand orders are also placed, paid and delivered one at a time, as the store and the CLI do.

Figures: orders/s ÷ a raw ``executemany`` insert of the same ledger rows, and settle ÷ one raw set-based
UPDATE of a copy of those rows — each limit measured in the same run. ``WEISHANG_BENCH_ORDERS`` sets N.
Targets: ≥ 0.3 and ≥ 0.8.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench.common import fresh_store, report
from weishang_core import catalog, identities, order_import, orders, referrals, settlement
from weishang_core.catalog import ProductInput
from weishang_core.models import LedgerEntry, utcnow

PG = os.environ.get("WEISHANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
N = int(os.environ.get("WEISHANG_BENCH_ORDERS", "100000"))
ONE_BY_ONE = min(N, 1_000)
THREADS = 4


def run() -> None:
    name = f"weishang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    try:
        settings, maker = fresh_store(url)
        with maker.begin() as session:
            catalog.add(session, settings, "KIWI", ProductInput(title="紅心獼猴桃", price="39.90", stock=10_000_000,
                                                                commission="L1=10%,L2=3%"))  # fmt: skip
            identities.add_reseller(session, "阿芳", "老李")
            code = referrals.create_link(session, identities.add_reseller(session, "勤妹子", "阿芳")).code

        def one(n: int) -> None:
            with maker.begin() as session:
                order = orders.create(session, settings, "KIWI", 1, f"walk-in{n:06d}", ref=code)
                orders.pay(session, settings, order)
                orders.deliver(session, settings, order)

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(one, range(ONE_BY_ONE)))
        one_at_a_time = time.perf_counter() - started

        def checkpoint() -> None:
            """Each timed phase starts from a clean checkpoint: the one before it otherwise leaves its dirty pages
            and the full-page images after a checkpoint to whichever phase runs next."""
            with admin.connect() as connection:
                connection.execute(text("CHECKPOINT"))

        with maker.begin() as session:  # the benchmark is the import: start it on an empty ledger
            session.execute(text("DELETE FROM ledger_entries"))

        now = utcnow()
        paid, delivered = (now - timedelta(days=20)).isoformat(), (now - timedelta(days=19)).isoformat()
        csv_file = Path(tempfile.mkdtemp(prefix="weishang-bench-")) / "orders.csv"
        with csv_file.open("w", encoding="utf-8") as out:
            out.write("key,sku,qty,buyer,ref,paid_at,delivered_at\n")
            out.writelines(f"B{n:06d},KIWI,1,buyer{n:06d},{code},{paid},{delivered}\n" for n in range(N))
        checkpoint()
        started = time.perf_counter()
        rows = order_import.read_csv(str(csv_file), settings, now)
        with maker.begin() as session:
            imported = order_import.import_orders(session, settings, rows, now)
        placing = time.perf_counter() - started
        assert imported.orders == N

        with maker() as session:
            ledger_rows = [dict(r._mapping) for r in session.execute(
                select(LedgerEntry.order_id, LedgerEntry.order_line_id, LedgerEntry.beneficiary_id, LedgerEntry.level,
                       LedgerEntry.kind, LedgerEntry.seq, LedgerEntry.amount_fen, LedgerEntry.status,
                       LedgerEntry.available_at, LedgerEntry.created_at))]  # fmt: skip
        raw = create_engine(url)
        with raw.begin() as connection:
            connection.execute(text("CREATE TABLE raw_ledger (LIKE ledger_entries INCLUDING ALL)"))
        checkpoint()
        started = time.perf_counter()
        with raw.begin() as connection:
            connection.execute(
                text("INSERT INTO raw_ledger (order_id, order_line_id, beneficiary_id, level, kind, seq, amount_fen, "
                     "status, available_at, created_at) VALUES (:order_id, :order_line_id, :beneficiary_id, :level, "
                     ":kind, :seq, :amount_fen, :status, :available_at, :created_at)"), ledger_rows)  # fmt: skip
        inserting = time.perf_counter() - started

        later = utcnow() + timedelta(days=365)
        checkpoint()
        started = time.perf_counter()
        with raw.begin() as connection:
            connection.execute(text("UPDATE raw_ledger SET status = 'available', released_at = :t "
                                    "WHERE status = 'pending' AND available_at <= :t"), {"t": later})  # fmt: skip
        raw_update = time.perf_counter() - started
        checkpoint()
        started = time.perf_counter()
        with maker.begin() as session:
            settled = settlement.settle(session, settings, later)
        settling = time.perf_counter() - started
        with maker() as session:
            left = session.scalar(select(func.count()).where(LedgerEntry.status == "pending"))
        raw.dispose()
        report(
            "orders",
            f"{N} paid, delivered orders imported in {placing:.1f} s ({N / placing:.0f}/s; one at a time "
            f"{ONE_BY_ONE / one_at_a_time:.0f}/s with {THREADS} threads); their {len(ledger_rows)} ledger rows by raw "
            f"executemany in {inserting:.1f} s ({N / inserting:.0f} orders/s)",
            inserting / placing,
            "≥ 0.3",
        )
        report(
            "settle",
            f"released {settled['released']} entries and completed {settled['completed']} orders in "
            f"{settling:.2f} s ({left} left pending); one raw UPDATE of the same rows {raw_update:.2f} s",
            raw_update / settling,
            "≥ 0.8",
        )
    finally:
        from weishang_core.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
