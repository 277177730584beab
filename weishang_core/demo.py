"""``weishang demo``: the seed's story (Lao Li's kiwis, Qin's groups) told through the public services.

Each step is its own transaction, as a seller's commands would be. The demo grows with the project; it
only tells what the installed version really does.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import command

from weishang_core import accounts, catalog, identities, migrate
from weishang_core.catalog import ProductInput
from weishang_core.config import Settings
from weishang_core.db import get_engine, get_sessionmaker
from weishang_core.errors import UserError
from weishang_core.models import Identity, StoreSetting
from weishang_core.plugins import get_channels

SELLER = "老李"
QIN = "勤妹子"
PRODUCTS = [
    (
        "KIWI-RED-5KG",
        "紅心獼猴桃 5kg",
        "39.90",
        100,
        "L1=10%,L2=3%",
        "老李從果園直接採購的紅心獼猴桃，軟了就能吃。Red-heart kiwis straight from the farm.",
    ),
    (
        "HONEY-RAW-500G",
        "土蜂蜜 500g",
        "68.00",
        50,
        "L1=8%",
        "山裡的原蜜，不加糖。Raw mountain honey, nothing added.",
    ),
]
ACCOUNTS = [  # channel, account name, options (secrets are demo values and are masked in every listing)
    ("wechat-oa", "laoli-oa", {"appid": "wxdemo0001", "secret": "demo-app-secret-do-not-print"}),
    ("wechat-share", "laoli-share", {}),
    (
        "weibo",
        "laoli-weibo",
        {
            "app_key": "demo-key",
            "app_secret": "demo-weibo-secret-do-not-print",
            "redirect_uri": "http://127.0.0.1:8000/oauth/weibo",
            "safe_domain": "127.0.0.1",
        },
    ),
    ("webstore", "laoli-store", {}),
]


def _reset(settings: Settings) -> None:
    engine = get_engine(settings.database_url)
    if migrate.current_revision(engine) is not None:
        config = migrate._config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")


def run_demo(settings: Settings, *, fresh: bool, echo: Callable[[str], None]) -> None:
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

    echo("== 微商 demo: Lao Li's red-heart kiwis ==\n")
    with maker.begin() as session:
        identities.set_seller(session, SELLER)
    echo(f"1. {SELLER} opens his store.")

    with maker.begin() as session:
        for sku, title, price, stock, rule, description in PRODUCTS:
            catalog.add(
                session,
                settings,
                sku,
                ProductInput(title=title, price=price, stock=stock, description=description, commission=rule),
            )
            echo(f"2. He adds {title} at ¥{price}, {stock} in stock, commission {rule}.")

    installed = get_channels()
    with maker.begin() as session:
        for channel, name, options in ACCOUNTS:
            if channel not in installed:
                echo(f"3. ({channel} is not installed: skipped)")
                continue
            record = accounts.add(session, channel, name, None, dict(options))
            shown = " ".join(f"{k}={v}" for k, v in accounts.as_dict(record)["options"].items())
            echo(f"3. He connects {installed[channel].display_name} as {name} {shown}".rstrip())

    with maker.begin() as session:
        identities.add_reseller(session, QIN, SELLER)
        identities.add_reseller(session, "小王", QIN)
    echo(f"4. {QIN}, who runs ten WeChat groups, becomes his reseller; her friend 小王 joins under her.")

    echo("\n-- referral tree --")
    with maker() as session:
        people = session.query(Identity).order_by(Identity.depth, Identity.id).all()
        for person in people:
            if person.is_seller or person.is_reseller:
                role = "seller" if person.is_seller else "reseller"
                echo(f"{'  ' * person.depth}{person.handle} ({role})")
    echo("\nThe store is ready: `weishang product list`, `weishang account list`, `weishang reseller list`.")
