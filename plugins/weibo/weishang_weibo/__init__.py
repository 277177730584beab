"""Sina Weibo: OAuth2 and ``statuses/share.json`` (``shared/specs/CHANNEL_APIS.md`` §2)."""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_weibo.channel import Weibo


@hookimpl
def register_channels(register):  # type: ignore[no-untyped-def]
    register(Weibo())
