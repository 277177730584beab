"""The kiwi story as a script against weishang's Python API (the CLI and the web store use the same).

Run it on a fresh home:  WEISHANG_HOME=/tmp/kiwi python examples/kiwi_story/story.py
Every block is one transaction, as a command would be: if a step fails, nothing of it is stored.
"""

from __future__ import annotations

from datetime import timedelta

from weishang_core import (
    accounts,
    catalog,
    distribution,
    identities,
    ledger,
    migrate,
    orders,
    referrals,
    settlement,
    tasks,
)
from weishang_core.catalog import ProductInput
from weishang_core.config import load_settings
from weishang_core.db import get_engine, get_sessionmaker
from weishang_core.models import Post, utcnow

settings = load_settings()  # WEISHANG_HOME / WEISHANG_DATABASE_URL, SQLite by default
migrate.upgrade(get_engine(settings.database_url))  # what `weishang init` does
maker = get_sessionmaker(settings.database_url)
now = utcnow()

# 1. Lao Li opens his store and adds the kiwis, with a two-level commission (10% and 3%).
with maker.begin() as session:
    identities.set_seller(session, "老李")
    kiwi = ProductInput(title="紅心獼猴桃 5kg", price="39.90", stock=100, commission="L1=10%,L2=3%")
    catalog.add(session, settings, "KIWI", kiwi)
    # Qin, who runs ten WeChat groups, resells for him; her groups get share kits (caption, photos, poster).
    identities.add_reseller(session, "勤妹子", "老李")
    accounts.add(session, "wechat-share", "qin-groups", "勤妹子", {})

# 2. One click: Qin distributes the kiwis with her own note; the post carries her referral link.
with maker.begin() as session:
    post_ids = [p.id for p in distribution.plan(session, settings, "KIWI", "勤妹子", "孩子最愛吃")]
tasks.run_in_process(settings, post_ids).join()  # with a broker, Celery workers do this instead
with maker() as session:
    for post_id in post_ids:
        shown = distribution.as_dict(session, session.get_one(Post, post_id))
        print(f"post on {shown['account']}: {shown['status']} {shown['url']}")

# 3. A friend taps her link in a group (a click binds the visitor to Qin), then buys two boxes.
with maker.begin() as session:
    link = referrals.link_for(session, identities.get(session, "勤妹子"), catalog.get(session, "KIWI"))
    referrals.record_click(session, settings, link, "visitor-zhang", outlet="wechat-share")
    order = orders.create(session, settings, "KIWI", 2, "張三", visitor_id="visitor-zhang")
    orders.pay(session, settings, order)  # the seller confirms the money arrived: commissions are written
    orders.deliver(session, settings, order, now=now)  # the return window starts
    print(f"order #{order.id}: ¥{orders.as_dict(session, order)['total']} through {link.code}")

# 4. The return window (and a new reseller's trust hold) passes: the commission is released.
with maker.begin() as session:
    print("settle:", settlement.settle(session, settings, now + timedelta(days=settings.return_days + 15)))
    qin = identities.get(session, "勤妹子")
    print("勤妹子's balances:", ledger.balances(session, qin.id).as_dict())
