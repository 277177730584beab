"""WeChat outlets: the Official Account (公眾號, has a publishing API) and groups/Moments (a share kit).

The API facts these follow are in ``shared/specs/CHANNEL_APIS.md`` §1; the code cites them by section.
"""

from __future__ import annotations

from weishang_core import hookimpl


@hookimpl
def register_channels(register):
    from weishang_wechat.oa import WeChatOfficialAccount  # imported when channels are asked for
    from weishang_wechat.share import WeChatShareKit

    register(WeChatOfficialAccount())
    register(WeChatShareKit())


@hookimpl
def demo_account(channel):
    """The demo's Official Account talks to an in-process emulator that publishes within a second."""
    if channel != "wechat-oa":
        return None
    from weishang_wechat.testing import WeChatEmulator

    emulator = WeChatEmulator(publish_seconds=0.3).start()
    options = {"appid": emulator.appid, "secret": emulator.secret, "api_base": emulator.base_url, "poll_every": "0.2"}
    return {"options": options, "state": {}, "stop": emulator.stop}
