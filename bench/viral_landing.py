"""Viral landing: ``/r/{code}`` under wrk against ``weishang serve --workers 2`` on PostgreSQL, beside
``/healthz`` of the same server; then recorded clicks vs requests sent.

Needs Debian's ``wrk`` and PostgreSQL on 127.0.0.1 (``WEISHANG_BENCH_PG``, default the ``test``
database's server). Targets: landing ≥ 60% of /healthz requests/s, p99 ≤ 100 ms at 64 connections.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

from bench.common import fresh_store, report
from weishang_core import accounts, catalog, distribution, identities, referrals
from weishang_core.catalog import ProductInput
from weishang_core.models import Click

PG = os.environ.get("WEISHANG_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
SECONDS = 5
CONNECTIONS = (64, 256)


def _wrk(url: str, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{SECONDS}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        assert found, out
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests_total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Socket errors" in out:
        print("   wrk:", re.search(r"Socket errors.*", out).group(0))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50": ms("50"), "p99": ms("99"), "requests": requests_total,
            "bad": int(errors.group(1)) if errors else 0}  # fmt: skip


def run() -> None:
    if shutil.which("wrk") is None:
        print("viral_landing: skipped: install Debian's wrk (apt-get install wrk)")
        return
    name = f"weishang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{PG}/{name}"
    server = None
    try:
        settings, maker = fresh_store(url)
        with maker.begin() as session:
            catalog.add(session, settings, "KIWI", ProductInput(title="紅心獼猴桃", price="39.90", stock=10))
            code = referrals.create_link(session, identities.add_reseller(session, "勤妹子", "老李")).code
            accounts.add(session, "webstore", "shop", "老李", {})
            [post] = distribution.plan(session, settings, "KIWI")
        distribution.step(maker, settings, post.id)  # listed in the store, as `weishang distribute` does
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        weishang = str(Path(sys.executable).with_name("weishang"))
        server = subprocess.Popen([weishang, "serve", "--port", str(port), "--workers", "2"],
                                  env={**os.environ, "WEISHANG_DATABASE_URL": url}, start_new_session=True)  # fmt: skip
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        sent = 0
        for connections in CONNECTIONS:
            health = _wrk(f"{base}/healthz", connections)
            landing = _wrk(f"{base}/r/{code}", connections)
            sent += landing["requests"]
            if not health["rate"]:
                print(f"viral_landing c={connections}: /healthz answered nothing in time; no ratio")
                continue
            report(
                f"viral_landing c={connections}",
                f"/r/ {landing['rate']:.0f} req/s p50 {landing['p50']:.1f} ms p99 {landing['p99']:.1f} ms "
                f"(non-3xx {landing['bad']}); /healthz {health['rate']:.0f} req/s p99 {health['p99']:.1f} ms",
                landing["rate"] / health["rate"],
                "≥ 0.6, and p99 ≤ 100 ms at 64",
            )
        # The buyers a viral link brings then look at their orders: a page on the store's per-request
        # database session, which once held pooled connections until the answer went out and stalled the
        # server at 256 connections. Measured here so that cannot come back unseen.
        placed = requests.post(f"{base}/api/orders", json={"sku": "KIWI", "qty": 1, "buyer": {"name": "張三"}},
                               timeout=10).json()  # fmt: skip
        assert "url" in placed, placed
        page = _wrk(f"{base}{placed['url']}", CONNECTIONS[-1])
        print(
            f"viral_landing c={CONNECTIONS[-1]}: the order page {page['rate']:.0f} req/s p50 {page['p50']:.1f} ms "
            f"p99 {page['p99']:.1f} ms (non-2xx {page['bad']})"
            + (" — STALLED" if page["rate"] < 10 or page["bad"] else "")
        )
        stopping = time.perf_counter()
        os.killpg(server.pid, signal.SIGTERM)  # the server writes what it buffered as it stops
        server.wait(timeout=600)
        server = None
        print(f"viral_landing: the server drained its click buffers in {time.perf_counter() - stopping:.1f} s")
        with maker() as session:
            recorded = session.scalar(select(func.count()).select_from(Click))
            counted = session.scalar(select(func.count()).select_from(Click).where(Click.counted.is_(True)))
        in_flight = sum(CONNECTIONS)  # wrk counts completed requests only; at most one per connection was open
        print(
            f"viral_landing: clicks recorded {recorded} ({counted} counted, {recorded - counted} repeats by one "
            "visitor or address within a minute) "
            f"for {sent} requests wrk completed; {recorded - sent} more were answered while wrk stopped "
            f"(at most {in_flight} can be): {'none lost' if 0 <= recorded - sent <= in_flight else 'MISMATCH'}"
        )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)
        from weishang_core.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
