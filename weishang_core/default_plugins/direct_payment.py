"""The ``direct`` payment method: the seed's prepaid weak-tie trade, the buyer pays the seller directly.

The buyer pays by a WeChat transfer or cash on pick-up, and the seller confirms receipt with
``weishang order pay ID``. It answers last, so an installed plugin may offer a ``direct`` of its own.
"""

from __future__ import annotations

from typing import Any

from weishang_core.hookspecs import hookimpl


class PayTheSellerDirectly:
    name = "direct"

    def instructions(self, order: dict[str, Any]) -> str:
        return (
            f"請直接付款 ¥{order['total']} 給賣家，賣家確認收款後發貨。"
            f" · Pay ¥{order['total']} to the seller directly; they ship once they confirm your payment."
        )


@hookimpl(trylast=True)
def payment_method(name: str) -> PayTheSellerDirectly | None:
    return PayTheSellerDirectly() if name == "direct" else None
