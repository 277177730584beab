"""``weishang demo``: the seed's story (Lao Li's kiwis, Qin's groups) told through the public services.

Each step is its own transaction, as a seller's commands would be. The demo grows with the project; it
only tells what the installed version really does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from weishang_core import (
    accounts,
    campaigns,
    catalog,
    distribution,
    identities,
    ledger,
    migrate,
    orders,
    payouts,
    referrals,
    settlement,
    tasks,
)
from weishang_core.catalog import ProductInput
from weishang_core.config import Settings
from weishang_core.db import get_engine, get_sessionmaker
from weishang_core.errors import UserError
from weishang_core.models import Identity, Order, Post, StoreSetting, utcnow
from weishang_core.plugins import get_channels, load_plugins, pm

Echo = Callable[[str], None]

SELLER = "老李"
QIN = "勤妹子"
PRODUCTS = [  # sku, title, price, stock, commission, material
    ("KIWI-RED-5KG", "紅心獼猴桃 5kg", "39.90", 100, "L1=10%,L2=3%",
     "老李從果園直接採購的紅心獼猴桃，軟了就能吃。Red-heart kiwis straight from the farm."),
    ("HONEY-RAW-500G", "土蜂蜜 500g", "68.00", 50, "L1=8%", "山裡的原蜜，不加糖。Raw mountain honey, nothing added."),
    ("ORANGE-NAVEL-5KG", "贛南臍橙 5kg", "45.00", 80, "L1=10%", "樹上熟的臍橙。Navel oranges ripened on the tree."),
    ("WALNUT-1KG", "薄皮核桃 1kg", "36.00", 60, "L1=10%", "手一捏就開。Thin-shelled walnuts."),
    ("MILLET-2KG", "黃小米 2kg", "25.00", 90, "L1=10%", "熬粥最香。Yellow millet for porridge."),
]  # fmt: skip
SELLER_ACCOUNTS = [("wechat-oa", "laoli-oa"), ("weibo", "laoli-weibo"), ("webstore", "laoli-store")]
QIN_ACCOUNTS = [("wechat-share", "qin-groups")]
BUYERS = [  # buyer, sku, qty: all arrive through 勤妹子's links
    ("張三", "KIWI-RED-5KG", 2),
    ("李四", "KIWI-RED-5KG", 1),
    ("王五", "HONEY-RAW-500G", 1),
]


def _reset(settings: Settings) -> None:
    engine = get_engine(settings.database_url)
    if migrate.current_revision(engine) is not None:
        config = migrate._config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")


def _connect(session: Session, settings: Settings, owner: str, wanted: list[tuple[str, str]], echo: Echo) -> list:
    """Connect demo accounts; outlets with a server get an in-process emulator from their plugin."""
    installed, stops = get_channels(), []
    for channel, name in wanted:
        if channel not in installed:
            echo(f"   ({channel} is not installed: skipped)")
            continue
        demo = pm.hook.demo_account(channel=channel) or {"options": {}, "state": {}, "stop": None}
        record = accounts.add(session, channel, name, owner, dict(demo["options"]))
        record.state = dict(demo["state"])
        if demo["stop"] is not None:
            stops.append(demo["stop"])
        where = " (its API played by an in-process emulator)" if demo["stop"] else ""
        echo(f"   {owner} connects {installed[channel].display_name} as {name}{where}")
    return stops


def _distribute(maker: sessionmaker[Session], settings: Settings, sku: str, poster: str | None, note: str,
                echo: Echo) -> None:  # fmt: skip
    """One click: plan the posts, publish them in parallel in this process, and print where each went."""
    with maker.begin() as session:
        posts = distribution.plan(session, settings, sku, poster, note)
        ids = [p.id for p in posts]
        queued = [p.id for p in posts if p.status == "queued"]
    tasks.run_in_process(settings, queued).join(timeout=60)
    with maker() as session:
        for post_id in ids:
            post = distribution.as_dict(session, session.get_one(Post, post_id))
            echo(f"   {post['account']:<12} {post['channel']:<13} {post['status']:<10} {post['url'] or post['reason']}")


def _visit_and_buy(maker: sessionmaker[Session], settings: Settings, code: str, buyer: str, sku: str, qty: int,
                   now: datetime) -> Order:  # fmt: skip
    """A friend taps the link in a group (a click), then buys; attribution comes from that click."""
    with maker.begin() as session:
        link = referrals.get_link(session, code)
        visitor = f"demo-visitor-{buyer}"
        referrals.record_click(
            session, settings, link, visitor, outlet="wechat-share", now=now
        )  # as the share kit's link says
        order = orders.create(session, settings, sku, qty, buyer, visitor_id=visitor, now=now)
        orders.pay(session, settings, order, now=now)
        orders.deliver(session, settings, order, now=now)
        session.flush()
        return order


def run_demo(settings: Settings, *, fresh: bool, echo: Echo) -> None:
    if fresh:
        _reset(settings)
    migrate.upgrade(get_engine(settings.database_url))
    maker = get_sessionmaker(settings.database_url)
    with maker() as session:
        existing = session.get(StoreSetting, "seller")
        if existing is not None:
            raise UserError(
                f"this database already has a store (seller {existing.value}); "
                "run `weishang demo --fresh` to start over"
            )
    load_plugins()
    stops: list = []
    try:
        _story(maker, settings, echo, stops)
    finally:
        for stop in stops:
            stop()


def _story(maker: sessionmaker[Session], settings: Settings, echo: Echo, stops: list) -> None:
    now = utcnow()
    echo("== 微商 demo: Lao Li's red-heart kiwis ==\n")
    with maker.begin() as session:
        identities.set_seller(session, SELLER)
        for sku, title, price, stock, rule, description in PRODUCTS:
            data = ProductInput(title=title, price=price, stock=stock, description=description, commission=rule)
            catalog.add(session, settings, sku, data)
    echo(f"1. {SELLER} opens his store and adds {len(PRODUCTS)} products, among them "
         f"{PRODUCTS[0][1]} at ¥{PRODUCTS[0][2]} (commission {PRODUCTS[0][4]}) and {PRODUCTS[1][1]}.")  # fmt: skip

    echo("2. He connects his outlets:")
    with maker.begin() as session:
        stops += _connect(session, settings, SELLER, SELLER_ACCOUNTS, echo)

    echo(f"3. One click distributes {PRODUCTS[0][1]} to all of them at once:")
    _distribute(maker, settings, PRODUCTS[0][0], None, "今年的果子特別甜", echo)

    with maker.begin() as session:
        identities.add_reseller(session, QIN, SELLER)
        stops += _connect(session, settings, QIN, QIN_ACCOUNTS, echo)
    echo(f"4. {QIN}, who runs ten WeChat groups, becomes his reseller and posts with her own note;")
    echo("   each post gets a share kit (caption, photos, a poster with her QR code). Her 5th post today is")
    echo("   refused: four a day per account keeps friends from being flooded.")
    for sku, *_ in PRODUCTS:
        _distribute(maker, settings, sku, QIN, "我家孩子最愛吃，軟了就能吃", echo)

    echo(f"5. Friends tap {QIN}'s links in the groups and buy; {SELLER} confirms payment and delivers:")
    with maker.begin() as session:
        qin = identities.get(session, QIN)
        codes = {sku: referrals.link_for(session, qin, catalog.get(session, sku)).code for sku, *_ in PRODUCTS}
    placed = {}
    for buyer, sku, qty in BUYERS:
        order = _visit_and_buy(maker, settings, codes[sku], buyer, sku, qty, now)
        placed[buyer] = order.id
        echo(f"   order #{order.id}: {buyer} buys {qty} × {sku} through {QIN}'s link")

    with maker.begin() as session:
        zhang = referrals.become_reseller(session, orders.get(session, placed["張三"]))  # his own delivered order
        zhang_code = referrals.link_for(session, zhang, catalog.get(session, "KIWI-RED-5KG")).code
    order = _visit_and_buy(maker, settings, zhang_code, "趙六", "KIWI-RED-5KG", 1, now)
    echo(f"6. 張三 loved the kiwis and becomes a reseller under {QIN}; his link sells to 趙六 (order #{order.id}):")
    echo(f"   張三 earns level 1, {QIN} level 2.")

    with maker.begin() as session:
        orders.refund(session, orders.get(session, placed["李四"]), amount_fen=2000, reason="soft kiwis")
        orders.exchange(session, orders.get(session, placed["張三"]), 1, reason="one box arrived bruised")
    echo("7. Soft kiwis: 李四 is refunded ¥20.00 (commissions reversed pro rata); 張三 gets one box exchanged.")

    with maker.begin() as session:
        peach = ProductInput(title="水蜜桃 預售 5kg", price="100.00", stock=0, commission="L1=10%")
        catalog.add(session, settings, "PEACH-PRESALE", peach)
        campaign = campaigns.create(session, "PEACH-PRESALE", "200.00", now + timedelta(days=3), max_qty=50, now=now)
        qin = identities.get(session, QIN)
        peach_code = referrals.link_for(session, qin, catalog.get(session, "PEACH-PRESALE")).code
    for buyer in ("孫七", "周八", "吳九"):
        with maker.begin() as session:
            order = orders.create(session, settings, "PEACH-PRESALE", 1, buyer, ref=peach_code, now=now)
            orders.pay(session, settings, order, now=now)
    with maker.begin() as session:
        campaign = settlement.close_campaign(session, campaigns.get(session, campaign.id), now + timedelta(days=3))
        shown = campaigns.as_dict(session, campaign)
        for order in session.scalars(select(Order).where(Order.campaign_id == campaign.id)):
            orders.deliver(session, settings, order, now=now + timedelta(days=4))
    echo(f"8. A pre-sale of peaches (眾籌, target ¥200.00) raises ¥{shown['raised']} from "
         f"{shown['sold_qty']} pre-orders through {QIN}'s link; at its deadline it is {shown['status']} "
         "and the peaches ship.")  # fmt: skip

    later = now + timedelta(days=settings.return_days + 15)  # past the return window and new resellers' holds
    with maker.begin() as session:
        released = settlement.settle(session, settings, later)
        paid = payouts.run(session, 0, now=later)
    echo(f"9. The {settings.return_days}-day return window and the new resellers' 14-day trust hold pass "
         f"(settle --now {later:%Y-%m-%d}): "
         f"{released.get('released', 0)} commission(s) released; {len(paid)} payout(s) made.")  # fmt: skip
    _report(maker, echo)


def _report(maker: sessionmaker[Session], echo: Echo) -> None:
    with maker() as session:
        echo("\n-- referral tree --")
        for person in session.scalars(select(Identity).order_by(Identity.depth, Identity.id)):
            if person.is_seller or person.is_reseller:
                role = "seller" if person.is_seller else "reseller"
                echo(f"{'  ' * person.depth}{person.handle} ({role})")
        echo("\n-- orders --")
        for order in orders.list_orders(session):
            shown = orders.as_dict(session, order)
            echo(f"#{shown['id']} {shown['buyer']:<4} {shown['sku']:<16} ¥{shown['total']:>7}  {shown['status']:<9}"
                 f" refunded ¥{shown['refunded']}  via {shown['attribution']['referrer'] or '-'}")  # fmt: skip
        echo("\n-- ledger --")
        for entry, handle in ledger.entries(session):
            shown = ledger.entry_dict(entry, handle)
            echo(f"order #{shown['order_id']} L{shown['level']} {handle:<4} {shown['kind']:<10} "
                 f"¥{shown['amount']:>6} {shown['status']}")  # fmt: skip
        echo("\n-- balances --")
        for person in identities.list_resellers(session):
            money = ledger.balances(session, person.id).as_dict()
            amounts = "  ".join(f"{state} ¥{money[state]}" for state in ("pending", "available", "paid"))
            echo(f"{person.handle:<4} {amounts}")
    echo(
        "\nThe store is ready: `weishang serve` shows it; "
        "`weishang posts`, `weishang order list`, `weishang commissions` list the rest."
    )
    echo("On a phone: `weishang serve`, then open the link `weishang console-link` prints (the seller's console).")
    echo("(The demo's outlet emulators have stopped: to publish for real, add your own accounts.)")
