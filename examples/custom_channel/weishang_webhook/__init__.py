"""weishang channel plugin: Webhook channel."""

from typing import Any

from weishang_core import hookimpl


@hookimpl
def register_channels(register):
    # Imported here, not at the top: every `weishang` command loads every plugin, and this keeps the
    # channel's own imports (requests) off `weishang --help`.
    from weishang_webhook.channel import WebhookChannel

    register(WebhookChannel())


def __getattr__(name: str) -> Any:
    """`weishang_webhook.WebhookChannel` still works, imported on first use."""
    if name == "WebhookChannel":
        from weishang_webhook.channel import WebhookChannel

        return WebhookChannel
    raise AttributeError(name)
