"""Hostile concurrency from separate `weishang` processes: every money change happens once.

Each case starts N real CLI processes at once on one database (SQLite and PostgreSQL) and then checks
the invariants of ``tests/money_invariants.py``. A process imports the CLI first and says ``ready``; when
all are ready they are released together, so their commands meet inside the database instead of being
spread out by Python's start-up time. Exactly one attempt takes effect; every other one is refused with
one line and exit 1 — never a traceback or an "internal error". The store's and the console's side (real
HTTP) is ``plugins/webstore/tests/test_hostile_store.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest

from tests.fixtures import Weishang
from tests.money_invariants import assert_money_invariants

STOCK = 1000
N = 4
T0 = "2026-06-01T10:00:00+08:00"
RUNNER = (
    "import sys\n"
    "from weishang_core.cli import main\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "sys.argv = ['weishang', *sys.argv[1:]]\n"
    "main()\n"
)


@dataclass
class Ran:
    args: tuple[str, ...]
    code: int
    out: str
    err: str


def at_once(cli: Weishang, *commands: tuple[str, ...], env: dict[str, str] | None = None) -> list[Ran]:
    """Run each command in its own process, all released at the same moment; each failure is one line."""
    full = {**os.environ, **cli.env(), **(env or {})}
    procs = [
        subprocess.Popen([sys.executable, "-c", RUNNER, *args], env=full, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for args in commands
    ]  # fmt: skip
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    ran = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=180)
        ran.append(Ran(args, proc.returncode, out, err))
    for one in ran:
        assert "Traceback" not in one.err and "internal error" not in one.err, one
        if one.code != 0:
            assert one.code == 1 and len([line for line in one.err.splitlines() if line.strip()]) == 1, one
    return ran


def ok(ran: list[Ran]) -> list[Ran]:
    return [one for one in ran if one.code == 0]


def refused(ran: list[Ran]) -> list[str]:
    return [one.err.strip() for one in ran if one.code != 0]


@pytest.fixture
def shop(store: Weishang) -> tuple[Weishang, str]:
    """KIWI at ¥99.99 with 1000 in stock; 勤妹子 sells under 阿芳 (L1 10%, L2 3%)."""
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "99.99", "--stock", str(STOCK),
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    store("reseller", "add", "勤妹子", "--sponsor", "阿芳")
    return store, store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]


def order(cli: Weishang, code: str, qty: int, *steps: str, buyer: str = "張三") -> str:
    made = cli.json("order", "create", "--sku", "KIWI", "--qty", str(qty), "--buyer", buyer, "--ref", code)
    for step in steps:
        cli("order", step, str(made["id"]))
    return str(made["id"])


def test_parallel_refunds_refund_once(shop) -> None:
    """Four processes refund 200.00 of a 299.97 order: one refund, three refusals, refunded ≤ paid."""
    cli, code = shop
    number = order(cli, code, 3, "pay", "deliver")
    ran = at_once(cli, *[("order", "refund", number, "--amount", "200.00")] * N)
    assert len(ok(ran)) == 1
    assert all("more than the 99.97 left to refund" in line for line in refused(ran))
    assert cli.json("order", "show", number)["refunded"] == "200.00"
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_parallel_cancels_put_the_stock_back_once(shop) -> None:
    cli, code = shop
    number = order(cli, code, 12)
    assert cli.json("product", "show", "KIWI")["stock"] == STOCK - 12
    ran = at_once(cli, *[("order", "cancel", number)] * N)
    assert len(ok(ran)) == 1
    assert all(f"order {number}: cannot cancel an order that is cancelled" in line for line in refused(ran))
    assert cli.json("product", "show", "KIWI")["stock"] == STOCK
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_parallel_pays_write_the_commissions_once(shop) -> None:
    cli, code = shop
    number = order(cli, code, 2)
    ran = at_once(cli, *[("order", "pay", number)] * N)
    assert len(ok(ran)) == 1
    assert all("cannot mark paid an order that is paid" in line for line in refused(ran))
    entries = cli.json("commissions")["entries"]
    assert [(e["beneficiary"], e["amount"]) for e in entries] == [("勤妹子", "20.00"), ("阿芳", "6.00")]
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_parallel_ships_delivers_and_completes_each_happen_once(shop) -> None:
    cli, code = shop
    number = order(cli, code, 1, "pay")
    for step, state in (("ship", "shipped"), ("deliver", "delivered"), ("complete", "completed")):
        ran = at_once(cli, *[("order", step, number)] * N)
        assert len(ok(ran)) == 1, step
        assert all(f"that is {state}" in line for line in refused(ran)), refused(ran)
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_parallel_exchanges_take_the_replacements_from_stock_once(shop) -> None:
    cli, code = shop
    number = order(cli, code, 3, "pay", "deliver")
    ran = at_once(cli, *[("order", "exchange", number, "--qty", "2")] * N)
    assert len(ok(ran)) == 1
    assert all("only 1 unit(s) of this line can still be exchanged" in line for line in refused(ran))
    assert cli.json("product", "show", "KIWI")["stock"] == STOCK - 3 - 2
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_parallel_payout_runs_pay_every_balance_once(shop) -> None:
    cli, code = shop
    for n in range(3):
        order(cli, code, n + 1, "pay", "deliver", buyer=f"buyer-{n}")
    cli("settle", "--now", "2099-01-01T00:00:00Z")
    ran = at_once(cli, *[("payouts", "run", "--min", "0.01", "--json")] * N)
    assert not refused(ran)
    import json

    paid = [p for one in ran for p in json.loads(one.out)]
    assert sorted((p["beneficiary"], p["amount"]) for p in paid) == [("勤妹子", "60.00"), ("阿芳", "18.00")]
    assert cli.json("commissions")["balances"] == {"pending": "0.00", "available": "0.00", "paid": "78.00"}
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_two_settles_at_once_release_an_expired_hold_once(shop) -> None:
    """An unpaid order holds its stock for 24 hours (direct payment); then each settle may cancel it,
    and exactly one does."""
    cli, code = shop
    made = cli.json("order", "create", "--sku", "KIWI", "--qty", "12", "--buyer", "張三", "--ref", code, "--now", T0)
    assert made["expires_at"] == "2026-06-02T02:00:00+00:00"
    early = cli.json("settle", "--now", "2026-06-02T09:59:00+08:00")
    assert early["expired"] == 0 and cli.json("product", "show", "KIWI")["stock"] == STOCK - 12
    ran = at_once(cli, *[("settle", "--now", "2026-06-02T10:00:00+08:00", "--json")] * N)
    import json

    assert not refused(ran)
    assert sum(json.loads(one.out)["expired"] for one in ran) == 1
    assert cli.json("order", "show", str(made["id"]))["status"] == "cancelled"
    assert cli.json("product", "show", "KIWI")["stock"] == STOCK
    assert_money_invariants(cli.url, {"KIWI": STOCK})


def test_paying_an_order_whose_hold_expired_is_refused(shop) -> None:
    """Paid after its deadline, before any settle: refused in one line; the next settle releases the stock."""
    cli, code = shop
    number = str(cli.json("order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "張三", "--now", T0)["id"])
    line = cli.fails("order", "pay", number, "--now", "2026-06-02T10:00:01+08:00")
    assert line == (
        f"Error: order {number}: its hold expired at 2026-06-02 02:00 UTC; its stock is released at the next "
        "settle, so place a new order"
    )
    cli("order", "pay", number, "--now", "2026-06-02T09:59:59+08:00")  # before the deadline it is paid
    assert cli.json("settle", "--now", "2026-06-03T00:00:00+08:00")["expired"] == 0  # a paid order is kept


def test_online_payment_holds_for_minutes_and_both_holds_are_settings(shop) -> None:
    cli, code = shop
    online = {**cli.env(), "WEISHANG_PAYMENT_METHOD": "wechatpay", "WEISHANG_HOLD_MINUTES_ONLINE": "5"}
    from weishang_core.cli import cli as command

    made = cli.runner.invoke(command, ["order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "李四",
                                       "--now", T0, "--json"], env=online)  # fmt: skip
    assert made.exit_code == 0, made.output
    assert '"expires_at": "2026-06-01T02:05:00+00:00"' in made.stdout
    longer = {**cli.env(), "WEISHANG_HOLD_HOURS_DIRECT": "48"}
    direct = cli.runner.invoke(command, ["order", "create", "--sku", "KIWI", "--qty", "1", "--buyer", "李四",
                                         "--now", T0], env=longer)  # fmt: skip
    assert direct.exit_code == 0 and cli.json("order", "show", "2")["expires_at"] == "2026-06-03T02:00:00+00:00"
    bad = cli.runner.invoke(command, ["order", "list"], env={**cli.env(), "WEISHANG_HOLD_HOURS_DIRECT": "0"})
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "Error: WEISHANG_HOLD_HOURS_DIRECT: '0' must be a number of hours from 1 to 720"


def test_two_settles_close_a_campaign_past_its_deadline_once(shop) -> None:
    """A campaign short of its target fails at its deadline: every paid pre-order refunded once, every
    unpaid one cancelled once, however many settles run."""
    cli, code = shop
    cli("product", "add", "--sku", "PEAR", "--title", "雪梨", "--price", "50.00", "--stock", "0")
    cli("campaign", "create", "--sku", "PEAR", "--target", "10000.00", "--deadline", "2099-01-01T00:00:00Z")
    for n in range(3):
        made = cli.json("order", "create", "--sku", "PEAR", "--qty", "2", "--buyer", f"buyer-{n}", "--ref", code)
        if n < 2:
            cli("order", "pay", str(made["id"]))
    ran = at_once(cli, *[("settle", "--now", "2099-01-02T00:00:00Z", "--json")] * N)
    import json

    assert not refused(ran)
    assert sum(json.loads(one.out)["campaigns_failed"] for one in ran) == 1
    shown = {o["buyer"]: (o["status"], o["refunded"]) for o in cli.json("order", "list")}
    assert shown == {
        "buyer-0": ("refunded", "100.00"),
        "buyer-1": ("refunded", "100.00"),
        "buyer-2": ("cancelled", "0.00"),
    }
    assert_money_invariants(cli.url, {"KIWI": STOCK})
    with_campaign = [c for c in cli.json("campaign", "list") if c["sku"] == "PEAR"]
    assert [(c["status"], c["sold_qty"]) for c in with_campaign] == [("failed", 4)]


def test_refunds_payouts_exchanges_and_settles_all_at_once_keep_every_invariant(shop) -> None:
    """A storm on several orders at once: whatever wins, the books balance."""
    cli, code = shop
    numbers = [order(cli, code, 3, "pay", "deliver", buyer=f"buyer-{n}") for n in range(3)]
    cli("settle", "--now", "2099-01-01T00:00:00Z")
    commands = []
    for number in numbers:
        commands += [("order", "refund", number, "--amount", "150.00"), ("order", "exchange", number, "--qty", "2")]
    commands += [("payouts", "run", "--min", "0.01"), ("payouts", "run", "--min", "0.01"), ("settle",)]
    ran = at_once(cli, *commands)
    assert len(ok(ran)) >= len(numbers) * 2  # the first refund and exchange of each order at least
    assert_money_invariants(cli.url, {"KIWI": STOCK})
