"""Every hook a weishang plugin can implement, in one place.

A plugin is a module or object registered under the ``weishang`` entry-point group; it implements any
subset of these with ``@hookimpl`` and may accept only the arguments it needs. Call hooks with keyword
arguments. ``docs/hooks.md`` gives an example for each; ``tests/test_docs.py`` keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # for the annotations only: importing them here would make every plugin import the web stack
    from fastapi import APIRouter

    from weishang_core.channels import Channel
    from weishang_core.cli.lazy import LazyGroup
    from weishang_core.payments import PaymentMethod
    from weishang_core.payouts import PayoutMethod

hookspec = pluggy.HookspecMarker("weishang")
hookimpl = pluggy.HookimplMarker("weishang")


@hookspec
def register_channels(register: Callable[[Channel], None]) -> None:
    """Register outlet channels by calling ``register(channel)`` once per channel.

    :param register: callable taking a :class:`weishang_core.channels.Channel` instance; it validates the
        channel's name and limits at once and raises on a clash.
    """


@hookspec
def register_commands(cli: LazyGroup) -> None:
    """Add commands or groups to the ``weishang`` command line.

    :param cli: the top-level group; call ``cli.add_command(...)``, use ``@cli.command()``, or
        ``cli.add_lazy_command(name, "module:attribute", summary)`` to import the command only when it runs.
    """


@hookspec
def content_policies() -> list[Callable[[str], str | None]]:  # type: ignore[empty-body]
    """Return extra content policies: callables ``policy(text) -> str | None`` giving a refusal reason.

    Each returned reason refuses the post before anything is sent, and is stored on the post.
    """


@hookspec
def post_published(post_id: int, channel: str, external_url: str | None) -> None:
    """A post reached its outlet. Fires once per post.

    :param post_id: the post's id; :param channel: the channel name; :param external_url: where it lives.
    """


@hookspec
def post_failed(post_id: int, channel: str, reason: str) -> None:
    """A post ended failed after its last attempt. Fires once per post.

    :param post_id: the post's id; :param channel: the channel name; :param reason: the outlet's reason.
    """


@hookspec
def referral_clicked(link_code: str, visitor_id: str, outlet: str | None) -> None:
    """A referral link was followed and the click was counted (repeats within the burst window are not).

    :param link_code: the link's code; :param visitor_id: the visitor; :param outlet: utm_source or referrer.
    """


@hookspec
def order_paid(order_id: int, total: int, referrer: str | None) -> None:
    """An order was paid.

    :param order_id: the order; :param total: the amount paid in fen; :param referrer: the attributed handle.
    """


@hookspec
def commission_created(order_id: int, beneficiary: str, level: int, amount: int) -> None:
    """A commission entry was written to the ledger (pending until its return window closes).

    :param order_id: the order; :param beneficiary: the handle; :param level: 1, 2 or 3; :param amount: fen.
    """


@hookspec(firstresult=True)
def payout_method(name: str) -> PayoutMethod | None:
    """Return a payout method object for ``name`` (the first plugin that knows it wins), or None.

    :param name: the method named in the payouts command; the built-in ``manual`` records a transfer to make.
    """


@hookspec(firstresult=True)
def payment_method(name: str) -> PaymentMethod | None:
    """Return a payment method object for ``name`` (the first plugin that knows it wins), or None.

    :param name: ``WEISHANG_PAYMENT_METHOD``; the built-in ``direct`` has the buyer pay the seller directly.
    """


@hookspec(firstresult=True)
def demo_account(channel: str) -> dict[str, Any] | None:
    """For ``weishang demo``: connect a demo account on ``channel`` to an emulator started in-process.

    :param channel: a channel this plugin registered.
    :return: None, or ``{"options": {...}, "state": {...}, "stop": callable}``: the account options
        (pointing ``api_base`` at the emulator), any saved state (a token), and how to stop the emulator.
    """


@hookspec(firstresult=True)
def deliver_message(recipient: str, kind: str, template: str, values: dict[str, Any]) -> str | None:
    """Send a message to a person's identifier; return the transport's name once sent, else None.

    :param recipient: the identifier's normalised value (``+8613800138000``, ``qin@example.com``).
    :param kind: ``phone`` or ``email`` (later ``wechat_openid``); a transport answers only kinds it serves.
    :param template: what to say: ``signin_code`` (values ``code`` and ``minutes``).
    :param values: the template's values. They may be secrets (a sign-in code): never log them.
    """


@hookspec
def web_routers() -> list[APIRouter]:  # type: ignore[empty-body]
    """Return FastAPI ``APIRouter`` objects for the web store to mount (a payment provider's callback).

    Called once per app in ``create_app``; the routers' paths must not clash with the store's. Their
    endpoints may use the store's dependencies in ``weishang_webstore.deps`` (one transaction per request,
    the signer, the visitor, the signed-in reseller, the console's staff).
    """
