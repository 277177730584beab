"""The seller's console at ``/console``: the whole job from a phone's browser.

Products (with photo upload), outlets (Weibo's OAuth2 in the browser), one-click distribution with a
preview and live status, orders with refunds that show their commission effect first, money, campaigns,
and the insight dashboard. Every page is server-rendered for a phone; every change is one transaction
through the same core services the CLI uses, so the console can do nothing the CLI refuses.
"""

from __future__ import annotations

from fastapi import APIRouter

from weishang_webstore.console import auth, campaigns, insight, money, orders, outlets, posting, products

ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router for module in (auth, insight, products, posting, outlets, orders, money, campaigns)
)
