"""The ``manual`` payout method: record the payout; the seller transfers by hand from the exported CSV.

It answers last, so an installed plugin may offer a ``manual`` of its own.
"""

from __future__ import annotations

from weishang_core.hookspecs import hookimpl
from weishang_core.money import format_yuan


class ManualTransfer:
    """The transfer is made by the seller (bank, WeChat Pay); the reference says to whom and how much."""

    name = "manual"

    def pay(self, handle: str, contact: str | None, amount_fen: int) -> str:
        from weishang_core import identifiers  # the ORM, which plugin loading (every command) must not import

        shown = identifiers.classify(contact)  # the reference is listed: the contact in it is masked
        masked = f" ({identifiers.mask(shown.kind, shown.value)})" if shown else ""
        return f"manual transfer of {format_yuan(amount_fen)} to {handle}{masked}"


@hookimpl(trylast=True)
def payout_method(name: str) -> ManualTransfer | None:
    return ManualTransfer() if name == "manual" else None
