"""weishang channel plugin: Webhook channel."""

from weishang_core import hookimpl


@hookimpl
def register_channels(register):
    # Imported here, not at the top: every `weishang` command loads every plugin, and this keeps the
    # channel's own imports (requests) off `weishang --help`.
    from weishang_webhook.channel import WebhookChannel

    register(WebhookChannel())
