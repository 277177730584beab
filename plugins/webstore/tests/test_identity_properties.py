"""Random interleavings of honest people and an attacker who knows every public name never cross people.

Hypothesis drives checkout (with idempotency keys drawn from a small shared pool, so keys collide), sign-in
by one-time code, becoming a reseller and the seller's pay/deliver/refund/settle/payout runs. The attacker
knows the seller's, the resellers' and the buyers' names, their phone numbers, every referral code and the
keys' format; it has several phones of its own but none of the honest people's secrets. After every step:
no honest order changed hands or contact, no honest person's identifiers changed, nothing the attacker was
answered carries an honest secret, every session the attacker holds is its own, and every commission went up
the referrer's own chain (with the money invariants of the hostile-concurrency suites).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select
from weishang_webstore.app import create_app

from tests.money_invariants import assert_money_invariants
from weishang_core import hookimpl
from weishang_core.config import load_settings
from weishang_core.db import get_sessionmaker
from weishang_core.models import Identifier, Identity, LedgerEntry, Order, SignInCode
from weishang_core.plugins import pm
from weishang_core.signin_codes import MAX_PER_HOUR

LATER = "2099-01-01T00:00:00+08:00"  # past every return window and trust hold
STOCK = 1_000_000
KEYS = ["k-shared-1", "k-shared-2", "import:1", "import:2", None]  # guessable keys, shared on purpose
RESELLERS = {"勤妹子": "13800138000", "阿芳": "13900001111"}
BUYERS = {"張三": "13700001111", "李四": ""}


class Outbox:
    """A message transport for the test: the honest owner of a phone reads its codes; the attacker cannot."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    @hookimpl
    def deliver_message(self, recipient: str, kind: str, template: str, values: dict[str, Any]) -> str | None:
        if template == "signin_code":
            self.codes[recipient] = values["code"]
        return "test-outbox"


@dataclass
class Phone:
    """One browser: a cookie jar, the orders it placed (id → token) and the keys it used."""

    client: TestClient
    name: str
    contact: str
    person: int | None = None
    orders: dict[int, str] = field(default_factory=dict)
    keys: dict[str, tuple[tuple[Any, ...], int]] = field(default_factory=dict)


def e164(phone: str) -> str:
    return f"+86{phone}"


@pytest.fixture
def world(store, monkeypatch):
    """老李's store with two resellers (verified phones), a referral link each, and the message outbox."""
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "100.00", "--stock", str(STOCK),
          "--commission", "L1=10%,L2=3%")  # fmt: skip
    store("store", "show", "KIWI")
    store("reseller", "add", "勤妹子", "--sponsor", "老李", "--phone", RESELLERS["勤妹子"])
    store("reseller", "add", "阿芳", "--sponsor", "勤妹子", "--phone", RESELLERS["阿芳"])
    codes = {name: store.json("link", "create", "--reseller", name)["code"] for name in RESELLERS}
    outbox = Outbox()
    pm.register(outbox, name="test-outbox")
    app = create_app(load_settings(store.url))
    try:
        yield store, app, codes, outbox
    finally:
        pm.unregister(outbox)
        app.state.clicks.close()


def test_an_attacker_who_knows_every_public_name_never_gets_another_persons_things(world) -> None:
    store, app, codes, outbox = world
    with get_sessionmaker(store.url)() as session:
        handles = dict(session.execute(select(Identity.handle, Identity.id).where(Identity.handle.is_not(None))).all())

    class Interleavings(RuleBasedStateMachine):
        """One story per example: new honest phones and attacker phones on the same store."""

        @initialize()
        def phones(self) -> None:
            self.buyers = [Phone(TestClient(app), name, contact) for name, contact in BUYERS.items()]
            self.attackers = [Phone(TestClient(app), "", "") for _ in range(2)]
            self.honest_ids = {handles[name] for name in RESELLERS} | {handles["老李"]}
            self.attacker_ids: set[int] = set()
            self.secrets: set[str] = set()  # honest order tokens, session tokens and codes
            self.snapshot = self.identifiers()
            self.asked = {name: 0 for name in RESELLERS}  # codes asked for each phone this hour
            with get_sessionmaker(store.url).begin() as session:
                session.execute(delete(SignInCode))  # each story starts an hour after the last: fresh code quotas
            for phone in self.buyers + self.attackers:
                phone.client.get("/p/KIWI")  # each browser's visitor cookie, as a real phone gets it

        # -- honest people -------------------------------------------------------------------------
        @rule(i=st.integers(0, 1), key=st.sampled_from(KEYS), ref=st.sampled_from([*RESELLERS, None]),
              qty=st.integers(1, 2))  # fmt: skip
        def honest_checkout(self, i: int, key: str | None, ref: str | None, qty: int) -> None:
            phone = self.buyers[i]
            answer = self.checkout(phone, phone.name, phone.contact, key, codes[ref] if ref else None, qty)
            if answer is not None:
                buyer = self.buyer_of(answer)
                assert phone.person in (None, buyer), "the same phone became somebody else"
                assert buyer not in self.attacker_ids
                phone.person = buyer
                self.honest_ids.add(buyer)
                self.secrets.add(phone.orders[answer])
            self.snapshot = self.identifiers()

        @rule(i=st.integers(0, 1), data=st.data())
        def honest_becomes_reseller(self, i: int, data: st.DataObject) -> None:
            phone = self.buyers[i]
            if not phone.orders:
                return
            order_id = data.draw(st.sampled_from(sorted(phone.orders)))
            became = phone.client.post("/api/resellers", json={"order_token": phone.orders[order_id]})
            assert became.status_code in (201, 400), became.text
            if became.status_code == 201:
                assert handles.setdefault(became.json()["name"], phone.person) == phone.person
                self.secrets.add(became.json()["token"])
            self.snapshot = self.identifiers()

        @rule(name=st.sampled_from(sorted(RESELLERS)))
        def reseller_signs_in_on_another_phone(self, name: str) -> None:
            other = TestClient(app)
            assert other.post("/api/signin-code", json={"phone": RESELLERS[name]}).status_code == 202
            self.asked[name] += 1
            code = outbox.codes.pop(e164(RESELLERS[name]), None)
            if code is None:
                assert self.asked[name] > MAX_PER_HOUR, "no code sent, yet the phone's hourly quota was not spent"
                return  # the attacker spent her hourly quota (docs/security.md: what is not protected)
            signed = other.post("/api/signin-code/verify", json={"phone": RESELLERS[name], "code": code})
            assert signed.status_code == 200 and signed.json()["name"] == name, signed.text
            assert other.get("/api/me").json()["name"] == name
            self.secrets |= {code, signed.json()["token"]}

        # -- the seller ----------------------------------------------------------------------------
        @rule(data=st.data(), step=st.sampled_from(["pay", "deliver", "refund"]))
        def seller_moves_an_order(self, data: st.DataObject, step: str) -> None:
            placed = sorted(order for phone in self.buyers + self.attackers for order in phone.orders)
            if placed:
                store("order", step, str(data.draw(st.sampled_from(placed))), ok=False)

        @rule()
        def seller_settles_and_pays(self) -> None:
            store("settle", "--now", LATER)
            store("payouts", "run", "--min", "0.01", ok=False)

        # -- the attacker --------------------------------------------------------------------------
        @rule(a=st.integers(0, 1), name=st.sampled_from([*RESELLERS, *BUYERS, "老李"]),
              contact=st.sampled_from([*RESELLERS.values(), *BUYERS.values()]), key=st.sampled_from(KEYS),
              ref=st.sampled_from([*RESELLERS, None]), qty=st.integers(1, 2))  # fmt: skip
        def attacker_checkout(
            self, a: int, name: str, contact: str, key: str | None, ref: str | None, qty: int
        ) -> None:
            phone = self.attackers[a]
            answer = self.checkout(phone, name, contact, key, codes[ref] if ref else None, qty)
            if answer is not None:
                buyer = self.buyer_of(answer)
                assert buyer not in self.honest_ids, f"the attacker's order {answer} went to an honest person"
                self.attacker_ids.add(buyer)

        @rule(a=st.integers(0, 1), data=st.data(), tamper=st.booleans())
        def attacker_becomes_reseller(self, a: int, data: st.DataObject, tamper: bool) -> None:
            phone = self.attackers[a]
            honest = sorted(order for buyer in self.buyers for order in buyer.orders)
            tokens = [*phone.orders.values(), *(str(order) for order in honest), "", "x" * 40]
            token = data.draw(st.sampled_from(tokens))
            if tamper and token:
                token = token[:-1] + ("A" if token[-1] != "A" else "B")
            became = self.seen(phone.client.post("/api/resellers", json={"order_token": token}))
            assert became.status_code in (201, 400, 404, 422), became.text
            if became.status_code == 201:
                assert token in phone.orders.values(), "a reseller was made from somebody else's order"
                with get_sessionmaker(store.url)() as session:
                    made = session.scalars(select(Identity.id).where(Identity.handle == became.json()["name"])).one()
                assert made in self.attacker_ids and made not in self.honest_ids

        @rule(a=st.integers(0, 1), name=st.sampled_from(sorted(RESELLERS)), guess=st.integers(0, 999_999))
        def attacker_tries_a_code(self, a: int, name: str, guess: int) -> None:
            client = self.attackers[a].client
            self.seen(client.post("/api/signin-code", json={"phone": RESELLERS[name]}))
            self.asked[name] += 1
            code = f"{guess:06d}"
            if outbox.codes.get(e164(RESELLERS[name])) == code:
                return  # a lucky guess of one in a million is not what this test is about
            tried = self.seen(client.post("/api/signin-code/verify", json={"phone": RESELLERS[name], "code": code}))
            assert tried.status_code in (400, 429), tried.text

        @rule(a=st.integers(0, 1), name=st.sampled_from([*RESELLERS, *BUYERS, "老李"]))
        def attacker_asks_for_a_link(self, a: int, name: str) -> None:
            asked = self.seen(self.attackers[a].client.post("/api/signin-link", json={"name": name}))
            assert asked.status_code == 202 and "signin?t=" not in asked.text

        @rule(a=st.integers(0, 1), data=st.data())
        def attacker_snoops(self, a: int, data: st.DataObject) -> None:
            phone = self.attackers[a]
            honest = sorted(order for buyer in self.buyers for order in buyer.orders)
            if honest:
                target = data.draw(st.sampled_from(honest))
                own = next(iter(phone.orders.values()), "")
                for address in (f"/orders/{target}", f"/orders/{target}?t={own}"):
                    assert self.seen(phone.client.get(address)).status_code == 404
            me = self.seen(phone.client.get("/api/me"))
            assert me.status_code in (200, 401), me.text
            if me.status_code == 200:
                assert {o["id"] for o in me.json().get("orders", [])} <= set(phone.orders), "another's orders"
                assert me.json()["name"] not in RESELLERS or handles.get(me.json()["name"]) in self.attacker_ids

        # -- what must hold after every step -------------------------------------------------------
        @invariant()
        def nobody_crossed(self) -> None:
            with get_sessionmaker(store.url)() as session:
                for phone in self.buyers:
                    for order_id in phone.orders:
                        buyer, contact = session.execute(
                            select(Order.buyer_id, Order.contact).where(Order.id == order_id)
                        ).one()
                        assert buyer == phone.person and (contact or "") == phone.contact
                for phone in self.attackers:
                    assert not (set(phone.orders) & {o for b in self.buyers for o in b.orders})
                self.commissions_went_up_the_chain(session)
            assert self.identifiers() == self.snapshot, "an honest person's identifiers changed"
            assert_money_invariants(store.url, {"KIWI": STOCK})

        # -- helpers -------------------------------------------------------------------------------
        def checkout(
            self, phone: Phone, name: str, contact: str, key: str | None, ref: str | None, qty: int
        ) -> int | None:
            asked = (name, contact, ref, qty)
            body = {"sku": "KIWI", "qty": qty, "buyer": {"name": name, "contact": contact}, "ref": ref}
            if key is not None:
                body["idempotency_key"] = key
            placed = self.seen(phone.client.post("/api/orders", json=body), phone in self.attackers)
            earlier = phone.keys.get(key or "")
            if placed.status_code == 409:
                assert earlier is not None and earlier[0] != asked, placed.text  # the same key, other parameters
                return None
            assert placed.status_code == 201, placed.text
            order_id = placed.json()["order"]["id"]
            if earlier is not None and earlier[0] == asked:
                assert order_id == earlier[1], "a retry with the same key made a second order"
            else:
                assert order_id not in {o for p in self.buyers + self.attackers for o in p.orders}, (
                    f"{name}'s checkout was answered with somebody else's order {order_id}"
                )
            if key is not None:
                phone.keys.setdefault(key, (asked, order_id))
            phone.orders[order_id] = placed.json()["token"]
            return order_id

        def seen(self, answer: Any, by_attacker: bool = True) -> Any:
            """What the attacker was answered (and holds in its cookie jars) carries no honest secret."""
            if by_attacker:
                jar = " ".join(str(v) for phone in self.attackers for v in phone.client.cookies.values())
                leaked = [s for s in self.secrets if s in answer.text or s in jar]
                assert not leaked, f"the attacker saw an honest secret: {answer.request.url}"
                assert answer.status_code < 500, answer.text
            return answer

        def buyer_of(self, order_id: int) -> int:
            with get_sessionmaker(store.url)() as session:
                return session.scalars(select(Order.buyer_id).where(Order.id == order_id)).one()

        def identifiers(self) -> dict[int, set[tuple[str, str, bool]]]:
            with get_sessionmaker(store.url)() as session:
                rows = session.execute(
                    select(Identifier.identity_id, Identifier.kind, Identifier.value, Identifier.verified)
                ).all()
            shown: dict[int, set[tuple[str, str, bool]]] = {person: set() for person in self.honest_ids}
            for person, kind, value, verified in rows:
                if person in shown:
                    shown[person].add((kind, value, verified))
            return shown

        def commissions_went_up_the_chain(self, session: Any) -> None:
            """A level-L commission on an order is owed to the (L-1)th sponsor of the order's referrer."""
            sponsor = dict(session.execute(select(Identity.id, Identity.sponsor_id)).all())
            rows = session.execute(
                select(LedgerEntry.beneficiary_id, LedgerEntry.level, Order.referrer_id)
                .join(Order, Order.id == LedgerEntry.order_id)
                .where(LedgerEntry.kind == "commission")
            ).all()
            for beneficiary, level, referrer in rows:
                up = referrer
                for _ in range(level - 1):
                    up = sponsor[up]
                assert up == beneficiary, f"a level-{level} commission went outside the referrer's chain"

    run_state_machine_as_test(
        Interleavings,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            derandomize=False,
        ),
    )
