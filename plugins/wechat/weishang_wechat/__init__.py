"""WeChat outlets: the Official Account (公眾號, has a publishing API) and groups/Moments (a share kit).

The API facts these follow are in ``shared/specs/CHANNEL_APIS.md`` §1; the code cites them by section.
"""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_wechat.oa import WeChatOfficialAccount
from weishang_wechat.share import WeChatShareKit

__all__ = ["WeChatOfficialAccount", "WeChatShareKit"]


@hookimpl
def register_channels(register):
    register(WeChatOfficialAccount())
    register(WeChatShareKit())
