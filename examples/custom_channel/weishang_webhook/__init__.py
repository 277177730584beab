"""weishang channel plugin: Webhook channel."""

from weishang_core import hookimpl

from weishang_webhook.channel import WebhookChannel


@hookimpl
def register_channels(register):
    register(WebhookChannel())
