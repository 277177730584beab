"""One click, many outlets: 3 outlets whose APIs answer in 300 ms; wall time ÷ the slowest outlet alone.

The outlets are the webhook channel from ``examples/custom_channel`` on three emulators, registered into
the plugin manager for the run. Target: ≤ 1.2 (the outlets are published in parallel, not in turn).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.common import fresh_store, report
from weishang_core import accounts, catalog, distribution, tasks
from weishang_core.catalog import ProductInput
from weishang_core.plugins import load_plugins, pm

LATENCY = 0.3


def _publish(settings, maker, sku: str, channels: tuple[str, ...] = ()) -> float:  # type: ignore[no-untyped-def]
    with maker.begin() as session:
        ids = [p.id for p in distribution.plan(session, settings, sku, None, "", channels) if p.status == "queued"]
    started = time.perf_counter()
    tasks.run_in_process(settings, ids).join()
    return time.perf_counter() - started


def run() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples/custom_channel"))
    import weishang_webhook
    from weishang_webhook.testing import WebhookEmulator

    load_plugins()  # finds it through its entry point when it is installed
    if not pm.is_registered(weishang_webhook):
        pm.register(weishang_webhook, name="bench-webhook")
    settings, maker = fresh_store()
    emulators = [WebhookEmulator(latency=LATENCY).start() for _ in range(3)]
    with maker.begin() as session:
        for number in range(4):
            catalog.add(session, settings, f"P{number}", ProductInput(title=f"好果子 {number}", price="9.90"))
        for number, emulator in enumerate(emulators):
            options = {"api_base": emulator.base_url, "token": emulator.token}
            accounts.add(session, "webhook", f"outlet-{number}", None, options, daily_cap=100)
    alone = []
    for number in range(3):  # each outlet alone, one product each
        with maker.begin() as session:
            only = accounts.get(session, f"outlet-{number}")
            only_id = only.id
        with maker.begin() as session:
            posts = distribution.plan(session, settings, f"P{number}", None, "")
            keep = [p.id for p in posts if p.account_id == only_id]
            for post in posts:
                if post.account_id != only_id:
                    post.status = "cancelled"
        started = time.perf_counter()
        tasks.run_in_process(settings, keep).join()
        alone.append(time.perf_counter() - started)
    together = _publish(settings, maker, "P3")
    for emulator in emulators:
        emulator.stop()
    slowest = max(alone)
    report(
        "one_click",
        f"3 outlets together {together * 1000:.0f} ms; slowest outlet alone {slowest * 1000:.0f} ms "
        f"(each call {LATENCY * 1000:.0f} ms)",
        together / slowest,
        "≤ 1.2",
    )
