"""Hostile concurrency against the store and the console over real HTTP: every money change happens once.

The store runs in uvicorn on a thread of the test (real sockets, real request threads, the same database
the CLI uses, SQLite and PostgreSQL). Each race opens N browser tabs (each loads its own page, so each
has its own one-time form token), waits until all are loaded, and posts from all of them at once: one
takes effect, the others get a 409 page, never a 5xx. Then ``tests/money_invariants.py`` is checked.
Each quoted probe finding of issue #19 is a test here, run for two orders to meet the race twice.
"""

from __future__ import annotations

import csv
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
import uvicorn
from weishang_webstore.app import create_app

from tests.fixtures import Weishang, free_port
from tests.money_invariants import assert_money_invariants
from weishang_core.config import load_settings

STOCK = 1000
TABS = 4


@dataclass
class Live:
    cli: Weishang
    base: str
    code: str


@pytest.fixture
def live(store: Weishang, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """老李's store in uvicorn on a thread: KIWI at ¥99.99, 1000 in stock; 勤妹子 sells under 阿芳."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for name, value in (("WEISHANG_HOME", str(store.home)), ("WEISHANG_DATABASE_URL", store.url),
                        ("WEISHANG_STORE_URL", base), ("WEISHANG_DB_POOL_SIZE", "12")):  # fmt: skip
        monkeypatch.setenv(name, value)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "99.99", "--stock", str(STOCK),
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    store("reseller", "add", "勤妹子", "--sponsor", "阿芳")
    store("account", "add", "webstore", "--name", "shop")
    store("distribute", "KIWI")
    code = store.json("link", "create", "--reseller", "勤妹子", "--sku", "KIWI")["code"]
    app = create_app(load_settings(store.url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Live(store, base, code)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def console(live: Live) -> requests.Session:
    browser = requests.Session()
    link = live.cli("console-link").stdout.strip()
    landed = browser.get(live.base + link.removeprefix(live.base), allow_redirects=False, timeout=30)
    assert landed.status_code == 303 and landed.headers["location"] == "/console"
    return browser


def fields(html: str, action: str | None = None) -> dict[str, str]:
    """The CSRF token and the one-time token of the page's form (of the status button ``action``)."""
    found = {"csrf": re.search(r'name="csrf" value="([^"]+)"', html).group(1)}  # type: ignore[union-attr]
    before = rf'name="action" value="{action}">' if action else ""
    once = re.search(before + r'<input[^>]+name="once" value="([^"]+)"', html)
    if once:
        found["once"] = once.group(1)
    return found


def no_server_error(answer: requests.Response) -> requests.Response:
    assert answer.status_code < 500 and "internal error" not in answer.text, (answer.status_code, answer.text[:300])
    return answer


def race(live: Live, page: str, path: str, data: dict[str, str], action: str | None = None) -> list[requests.Response]:
    """TABS tabs of one signed-in seller load ``page``, then all post the form to ``path`` at once."""
    browser = console(live)
    loaded = threading.Barrier(TABS)

    def tab(_: int) -> requests.Response:
        html = browser.get(live.base + page, timeout=30).text
        loaded.wait()
        sent = {**data, **fields(html, action)}
        return no_server_error(browser.post(live.base + path, data=sent, allow_redirects=False, timeout=60))

    with ThreadPoolExecutor(TABS) as pool:
        return list(pool.map(tab, range(TABS)))


def done_and_refused(answers: list[requests.Response]) -> tuple[list[str], list[str]]:
    done = [a.headers["location"] for a in answers if a.status_code == 303]
    refused = [re.sub(r"<[^>]+>", " ", a.text) for a in answers if a.status_code != 303]
    assert all(a.status_code in (303, 409) for a in answers), [a.status_code for a in answers]
    return done, refused


def order(live: Live, qty: int, *steps: str, buyer: str = "張三") -> str:
    made = live.cli.json("order", "create", "--sku", "KIWI", "--qty", str(qty), "--buyer", buyer, "--ref", live.code)
    for step in steps:
        live.cli("order", step, str(made["id"]))
    return str(made["id"])


def test_four_console_refunds_of_200_on_a_299_97_order_refund_once(live: Live) -> None:
    for buyer in ("張三", "李四"):
        number = order(live, 3, "pay", "deliver", buyer=buyer)
        data = {"amount": "200.00", "confirm": "yes"}
        answers = race(live, f"/console/orders/{number}", f"/console/orders/{number}/refund", data)
        done, refused = done_and_refused(answers)
        assert len(done) == 1 and "refunded%20%C2%A5200.00" in done[0]
        assert len(refused) == TABS - 1 and all("more than the 99.97 left to refund" in r for r in refused)
        assert live.cli.json("order", "show", number)["refunded"] == "200.00"
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_parallel_console_cancels_put_the_stock_back_once(live: Live) -> None:
    for buyer in ("張三", "李四"):
        number = order(live, 12, buyer=buyer)
        answers = race(live, f"/console/orders/{number}", f"/console/orders/{number}/status", {"action": "cancel"},
                       "cancel")  # fmt: skip
        done, refused = done_and_refused(answers)
        assert len(done) == 1 and all("cannot cancel an order that is cancelled" in r for r in refused)
        assert "See where it stands now" in refused[0]  # a page to go on from, not a bare error
        assert live.cli.json("product", "show", "KIWI")["stock"] == STOCK
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_two_console_payout_runs_at_once_pay_every_balance_once(live: Live) -> None:
    earned = 0
    for round_ in range(2):
        for n in range(3):
            order(live, n + 1, "pay", "deliver", buyer=f"buyer-{round_}-{n}")
        earned += 6000 + 1800  # 10% and 3% of 1, 2 and 3 units at 99.99, each line rounded half up
        live.cli("settle", "--now", "2099-01-01T00:00:00Z")
        answers = race(live, "/console/money", "/console/money/payouts", {"minimum": "0.01"})
        done, refused = done_and_refused(answers)
        assert len(done) + len(refused) == TABS and not refused
        assert sum("2%20payout" in where for where in done) == 1  # the others ran and found nothing left
    paid = live.cli.json("payouts", "list")
    assert sum(int(p["amount"].replace(".", "")) for p in paid) == earned == 15600
    assert live.cli.json("commissions")["balances"]["available"] == "0.00"
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_a_double_pay_is_one_payment_and_never_a_500(live: Live) -> None:
    for buyer in ("張三", "李四"):
        number = order(live, 2, buyer=buyer)
        answers = race(live, f"/console/orders/{number}", f"/console/orders/{number}/status", {"action": "pay"}, "pay")
        done, refused = done_and_refused(answers)
        assert len(done) == 1 and all("cannot mark paid an order that is paid" in r for r in refused)
    entries = live.cli.json("commissions")["entries"]
    assert sorted((e["order_id"], e["beneficiary"], e["amount"]) for e in entries) == [
        (1, "勤妹子", "20.00"), (1, "阿芳", "6.00"), (2, "勤妹子", "20.00"), (2, "阿芳", "6.00")
    ]  # fmt: skip
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def repost(live: Live, browser: requests.Session, path: str, sent: dict[str, str]) -> str:
    """A double tap (the same form TABS times at once), then the back button and the same form again:
    every answer goes where the first one went."""

    def post(_: int) -> requests.Response:
        return no_server_error(browser.post(live.base + path, data=sent, allow_redirects=False, timeout=60))

    with ThreadPoolExecutor(TABS) as pool:
        answers = [*pool.map(post, range(TABS)), post(0)]
    assert [a.status_code for a in answers] == [303] * (TABS + 1)
    assert len({a.headers["location"] for a in answers}) == 1, [a.headers["location"] for a in answers]
    return answers[0].headers["location"]


def test_the_same_console_form_posted_again_shows_the_first_result(live: Live) -> None:
    number = order(live, 3, "pay", "deliver")
    browser = console(live)
    confirm = browser.post(
        f"{live.base}/console/orders/{number}/refund",
        data={"amount": "50.00", **fields(browser.get(f"{live.base}/console/orders/{number}").text)},
        timeout=30,
    ).text
    sent = {"amount": "50.00", "confirm": "yes", **fields(confirm)}
    assert "refunded%20%C2%A550.00" in repost(live, browser, f"/console/orders/{number}/refund", sent)
    assert live.cli.json("order", "show", number)["refunded"] == "50.00"

    page = browser.get(f"{live.base}/console/orders/{number}").text
    confirm = browser.post(f"{live.base}/console/orders/{number}/exchange",
                           data={"qty": "1", **fields(page)}, timeout=30).text  # fmt: skip
    repost(live, browser, f"/console/orders/{number}/exchange", {"qty": "1", "confirm": "yes", **fields(confirm)})
    assert live.cli.json("product", "show", "KIWI")["stock"] == STOCK - 3 - 1

    pending = order(live, 1, buyer="李四")
    page = browser.get(f"{live.base}/console/orders/{pending}").text
    sent = {"action": "pay", **fields(page, "pay")}
    assert repost(live, browser, f"/console/orders/{pending}/status", sent).endswith(f"order%20{pending}%20is%20paid")

    live.cli("settle", "--now", "2099-01-01T00:00:00Z")
    page = browser.get(f"{live.base}/console/money").text
    assert "2%20payout" in repost(live, browser, "/console/money/payouts", {"minimum": "0.01", **fields(page)})
    assert len(live.cli.json("payouts", "list")) == 2
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_a_console_form_without_its_one_time_token_is_refused(live: Live) -> None:
    number = order(live, 1)
    browser = console(live)
    page = browser.get(f"{live.base}/console/orders/{number}").text
    sent = {"action": "pay", "csrf": fields(page)["csrf"]}
    refused = no_server_error(browser.post(f"{live.base}/console/orders/{number}/status", data=sent, timeout=30))
    assert refused.status_code == 400 and "once: the form has no valid one-time token" in refused.text
    assert live.cli.json("order", "show", number)["status"] == "pending"


def visitor(live: Live) -> tuple[requests.Session, str]:
    """A phone that opened the product page: its visitor cookie, and the page."""
    phone = requests.Session()
    page = phone.get(f"{live.base}/p/KIWI", timeout=30)
    assert page.status_code == 200 and "ws_visitor" in phone.cookies
    return phone, page.text


def test_a_strangers_idempotency_key_never_reaches_an_imported_order(live: Live, tmp_path: Path) -> None:
    file = tmp_path / "chat.csv"
    with file.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["key", "sku", "qty", "buyer"], ["1", "KIWI", "2", "老客戶"]])
    live.cli("order", "import", str(file))
    body = {"sku": "KIWI", "qty": 1, "buyer": {"name": "路人"}, "idempotency_key": "import:1"}
    stranger, _ = visitor(live)
    for caller in (stranger, requests.Session()):  # with a visitor cookie, and with none
        placed = no_server_error(caller.post(f"{live.base}/api/orders", json=body, timeout=30))
        assert placed.status_code == 201 and placed.json()["order"]["id"] != 1
        assert placed.json()["order"]["buyer"] == "路人" and placed.json()["order"]["status"] == "pending"
    assert live.cli.json("order", "show", "1")["buyer"] == "老客戶"


def buy(phone: requests.Session, live: Live, page: str, name: str, key: str) -> requests.Response:
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    sent = {"sku": "KIWI", "qty": "1", "name": name, "csrf": csrf, "key": key}
    return no_server_error(phone.post(f"{live.base}/buy", data=sent, allow_redirects=False, timeout=30))


def test_the_buy_forms_key_never_gives_a_second_visitor_the_first_buyers_order(live: Live) -> None:
    first, first_page = visitor(live)
    key = re.search(r'name="key" value="([^"]+)"', first_page).group(1)  # type: ignore[union-attr]
    mine = buy(first, live, first_page, "張三", key)
    assert (
        mine.status_code == 303
        and buy(first, live, first_page, "張三", key).headers["location"] == (mine.headers["location"])
    )  # a double tap of the first buyer: the same order
    second, second_page = visitor(live)
    theirs = buy(second, live, second_page, "李四", key)  # the first page's key, from another phone
    assert theirs.status_code == 303 and theirs.headers["location"] != mine.headers["location"]
    assert (
        "/orders/2?" in theirs.headers["location"]
        and "李四" not in first.get(live.base + mine.headers["location"]).text
    )
    assert [o["buyer"] for o in live.cli.json("order", "list")] == ["張三", "李四"]


def test_a_key_replays_only_the_same_request_of_the_same_caller(live: Live) -> None:
    phone, _ = visitor(live)
    body = {"sku": "KIWI", "qty": 2, "buyer": {"name": "王五"}, "idempotency_key": "phone-key-0001"}

    def place(_: int) -> requests.Response:
        return no_server_error(phone.post(f"{live.base}/api/orders", json=body, timeout=60))

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(place, range(6)))  # six retries of one request at once
    assert {a.status_code for a in answers} == {201} and len({a.json()["order"]["id"] for a in answers}) == 1
    other = no_server_error(phone.post(f"{live.base}/api/orders", json={**body, "qty": 3}, timeout=30))
    assert other.status_code == 409
    assert other.json() == {"error": "idempotency_key: 'phone-key-0001' was already used for an order with other "
                                     "details; send a new key for a new order"}  # fmt: skip
    nobody = [no_server_error(requests.post(f"{live.base}/api/orders", json=body, timeout=30)) for _ in range(2)]
    assert [a.status_code for a in nobody] == [201, 201] and nobody[0].json()["order"]["id"] != nobody[1].json()[
        "order"]["id"]  # fmt: skip
    assert live.cli.json("product", "show", "KIWI")["stock"] == STOCK - 2 - 2 - 2
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_the_buyer_sees_the_hold_deadline_on_the_order_page_and_in_the_json(live: Live) -> None:
    phone, _ = visitor(live)
    placed = phone.post(f"{live.base}/api/orders", json={"sku": "KIWI", "buyer": {"name": "張三"}}, timeout=30).json()
    made, until = placed["order"], placed["order"]["expires_at"]
    assert datetime.fromisoformat(until) - datetime.fromisoformat(made["created_at"]) == timedelta(hours=24)
    local = datetime.fromisoformat(until).astimezone(load_settings().tz)
    page = phone.get(live.base + placed["url"], timeout=30).text
    assert re.search(r'id="pay-by">.*?<strong>([^<]+)</strong>', page).group(1) == f"{local:%Y-%m-%d %H:%M}"  # type: ignore[union-attr]
    live.cli("order", "pay", str(made["id"]))
    assert 'id="pay-by"' not in phone.get(live.base + placed["url"], timeout=30).text
    assert live.cli.json("order", "show", str(made["id"]))["expires_at"] is None  # paid: no deadline any more


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_busy_sqlite_database_is_a_retryable_refusal_never_a_500(live: Live) -> None:
    """SQLite has one writer. When another process holds the write lock past busy_timeout, a command says
    so in one line and the store answers 503 with Retry-After; nothing is half-written."""
    import sqlite3

    number = order(live, 1)
    phone, _ = visitor(live)
    blocker = sqlite3.connect(live.cli.url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing, for longer than anyone waits
    try:
        line = live.cli.fails("order", "pay", number)
        assert line.endswith("database is locked (another command is writing; try again)"), line
        busy = phone.post(f"{live.base}/api/orders", json={"sku": "KIWI", "buyer": {"name": "李四"}}, timeout=60)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert busy.json() == {"error": "database: unavailable for a moment; try again"}
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    live.cli("order", "pay", number)  # once the writer is gone, the same command goes through
    assert [o["status"] for o in live.cli.json("order", "list")] == ["paid"]
    assert_money_invariants(live.cli.url, {"KIWI": STOCK})


def test_six_taps_at_once_on_become_a_reseller_make_one_reseller_and_one_session(live: Live) -> None:
    """Probe finding (issue #19): 20 parallel POST /api/resellers gave six 201s and six live sessions."""
    phone, _ = visitor(live)
    placed = no_server_error(
        phone.post(f"{live.base}/api/orders", json={"sku": "KIWI", "buyer": {"name": "王五"}, "ref": live.code},
                   timeout=30)
    ).json()  # fmt: skip
    number = str(placed["order"]["id"])
    live.cli("order", "pay", number)
    live.cli("order", "deliver", number)
    loaded = threading.Barrier(6)

    def tap(_: int) -> requests.Response:
        loaded.wait()
        sent = {"order_token": placed["token"]}
        return no_server_error(phone.post(f"{live.base}/api/resellers", json=sent, timeout=60))

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(tap, range(6)))
    assert sorted(a.status_code for a in answers) == [201] + [400] * 5
    assert all("already a reseller" in a.json()["error"] for a in answers if a.status_code == 400)
    assert len(live.cli.json("sessions", "list", "--person", "王五")) == 1
    assert [r["name"] for r in live.cli.json("reseller", "list")] == ["阿芳", "勤妹子", "王五"]


def test_an_order_address_passed_round_a_chat_does_not_make_a_stranger_its_buyer(live: Live) -> None:
    """Probe finding (issue #19): the order token alone signed a cookie-less client in as the buyer."""
    phone, _ = visitor(live)
    placed = phone.post(f"{live.base}/api/orders", json={"sku": "KIWI", "buyer": {"name": "趙六"}}, timeout=30).json()
    live.cli("order", "pay", str(placed["order"]["id"]))
    live.cli("order", "deliver", str(placed["order"]["id"]))
    stranger = requests.Session()
    refused = no_server_error(stranger.post(f"{live.base}/api/resellers", json={"order_token": placed["token"]}))
    assert refused.status_code == 403 and refused.json()["error"].startswith("order_token: open it on the phone")
    assert "token" not in refused.json() and stranger.get(f"{live.base}/api/me", timeout=30).status_code == 401
    became = phone.post(f"{live.base}/api/resellers", json={"order_token": placed["token"]}, timeout=30)
    assert became.status_code == 201 and became.json()["name"] == "趙六"
    assert len(live.cli.json("sessions", "list", "--person", "趙六")) == 1  # the phone's; the stranger got none
