"""The shapes a post takes on its way through a step: claimed (with what its call reads), begun (what
the outlet call needs, taken out of the claiming transaction) and the outcome of the call. They are
what publishing hands to outcomes, so both import them from here and neither from the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from weishang_core import accounts
from weishang_core.channels import Channel, PublishResult
from weishang_core.models import Identity, OutletAccount, Post, PostAttempt, Product

Claimed = tuple[Post, OutletAccount, Product, Identity, Any]


@dataclass
class _Begun:
    """A post claimed for an attempt: what its call needs, taken out of the claiming transaction."""

    post_id: int
    attempt: PostAttempt
    channel: Channel
    view: accounts.Account
    payload: dict[str, Any]
    key: str
    external_id: str | None
    attempts: int
    polling: bool
    look_first: bool


@dataclass
class _Outcome:
    outcome: str
    detail: str | None = None
    delay: float | None = None
    result: PublishResult | None = None
