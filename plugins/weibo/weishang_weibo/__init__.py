"""Sina Weibo: OAuth2 and ``statuses/share.json`` (``shared/specs/CHANNEL_APIS.md`` §2)."""

from __future__ import annotations

from weishang_core import hookimpl


@hookimpl
def register_channels(register):
    from weishang_weibo.channel import Weibo  # imported when channels are asked for, not by every command

    register(Weibo())


@hookimpl
def demo_account(channel):
    """The demo's Weibo account, already authorised, talks to an in-process emulator."""
    if channel != "weibo":
        return None
    from datetime import timedelta
    from urllib.parse import urlsplit

    from weishang_core.config import load_settings
    from weishang_core.models import utcnow
    from weishang_weibo.testing import WeiboEmulator

    domain = urlsplit(load_settings().store_url).hostname or "127.0.0.1"  # the store's links must pass
    emulator = WeiboEmulator(safe_domain=domain).start()
    options = {
        "app_key": emulator.app_key,
        "app_secret": emulator.app_secret,
        "redirect_uri": "http://127.0.0.1:8765/weibo/callback",
        "safe_domain": domain,
        "api_base": emulator.base_url,
        "rip": "127.0.0.1",
    }
    state = {
        "access_token": emulator.grant_token(),
        "uid": emulator.uid,
        "expires_at": (utcnow() + timedelta(days=30)).isoformat(),
    }
    return {"options": options, "state": state, "stop": emulator.stop}
