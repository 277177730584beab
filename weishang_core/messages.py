"""Messages to people (sign-in codes) through the ``deliver_message`` hook.

Transports (SMS, email, WeChat template messages) are plugins. Until one is installed, the built-in
*log transport* writes the message to the server log, clearly labelled, for the seller to pass on by
hand: a stand-in that says what it is, never a pretence of delivery (docs/security.md).
"""

from __future__ import annotations

import logging
from typing import Any

from weishang_core import hookimpl
from weishang_core.plugins import pm

LOG = logging.getLogger("weishang.messages")
TEMPLATES = {
    "signin_code": "您的登錄驗證碼 {code}，{minutes} 分鐘內有效 · Your sign-in code is {code} ({minutes} minutes)",
}


def render(template: str, values: dict[str, Any]) -> str:
    return TEMPLATES[template].format(**values)


class LogTransport:
    """The built-in transport of last resort: the server log."""

    @hookimpl(trylast=True)
    def deliver_message(self, recipient: str, kind: str, template: str, values: dict[str, Any]) -> str:
        LOG.warning(
            "LOG TRANSPORT (no message transport installed; pass this on by hand) to %s %s: %s",
            kind,
            recipient,
            render(template, values),
        )
        return "log"


pm.register(LogTransport(), name="weishang.messages")
