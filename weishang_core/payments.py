"""How buyers pay: a payment method from the ``payment_method`` hook, chosen by ``WEISHANG_PAYMENT_METHOD``.

The built-in ``direct`` method (``default_plugins.direct_payment``) is the seed's prepaid weak-tie trade. A
plugin can offer an online method (WeChat Pay, Alipay) that sends the buyer to a payment page and marks
the order paid through the core when the provider confirms.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

from weishang_core.errors import UserError
from weishang_core.plugins import load_plugins, pm


class PaymentMethod(Protocol):
    """What the ``payment_method`` hook returns: how a pending order's buyer is told to pay."""

    name: str

    def instructions(self, order: dict[str, Any]) -> str: ...


def method_name() -> str:
    """The name of the store's payment method (``WEISHANG_PAYMENT_METHOD``, default ``direct``)."""
    return os.environ.get("WEISHANG_PAYMENT_METHOD", "direct")


def store_method() -> PaymentMethod:
    """The store's payment method; an unknown name is a configuration error, said in one line."""
    load_plugins()
    name = method_name()
    method: PaymentMethod | None = pm.hook.payment_method(name=name)
    if method is None:
        raise UserError(f"WEISHANG_PAYMENT_METHOD: no installed plugin offers a payment method {name!r}")
    return method
