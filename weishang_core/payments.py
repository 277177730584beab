"""How buyers pay: a payment method from the ``payment_method`` hook, chosen by ``WEISHANG_PAYMENT_METHOD``.

The built-in ``direct`` method is the seed's prepaid weak-tie trade: the buyer pays the seller directly
(a WeChat transfer, cash on pick-up) and the seller confirms receipt with ``weishang order pay ID``. A
plugin can offer an online method (WeChat Pay, Alipay) that sends the buyer to a payment page and marks
the order paid through the core when the provider confirms.
"""

from __future__ import annotations

import os
from typing import Any

from weishang_core import hookimpl
from weishang_core.errors import UserError
from weishang_core.plugins import load_plugins, pm


class PayTheSellerDirectly:
    name = "direct"

    def instructions(self, order: dict[str, Any]) -> str:
        return (
            f"請直接付款 ¥{order['total']} 給賣家，賣家確認收款後發貨。"
            f" · Pay ¥{order['total']} to the seller directly; they ship once they confirm your payment."
        )


class BuiltinPaymentMethods:
    @hookimpl(trylast=True)
    def payment_method(self, name: str) -> Any:
        return PayTheSellerDirectly() if name == "direct" else None


pm.register(BuiltinPaymentMethods(), name="weishang.payments")


def method_name() -> str:
    """The name of the store's payment method (``WEISHANG_PAYMENT_METHOD``, default ``direct``)."""
    return os.environ.get("WEISHANG_PAYMENT_METHOD", "direct")


def store_method() -> Any:
    """The store's payment method; an unknown name is a configuration error, said in one line."""
    load_plugins()
    name = method_name()
    method = pm.hook.payment_method(name=name)
    if method is None:
        raise UserError(f"WEISHANG_PAYMENT_METHOD: no installed plugin offers a payment method {name!r}")
    return method
