"""The weishang conformance suite against the webhook emulator, and one post end to end."""

import json

import pytest
from weishang_core.channels import Account
from weishang_core.testing import ChannelConformance

from weishang_webhook.channel import WebhookChannel
from weishang_webhook.testing import WebhookEmulator


@pytest.fixture
def emulator():
    with WebhookEmulator() as running:
        yield running


class TestWebhookConformance(ChannelConformance):
    @pytest.fixture
    def channel(self):
        return WebhookChannel()

    @pytest.fixture
    def account(self, emulator):
        return Account("test", "webhook", {"api_base": emulator.base_url}, {"token": emulator.token})


def test_distribute_publishes_through_the_cli(weishang_cli, emulator):
    weishang_cli("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90")
    weishang_cli(
        "account",
        "add",
        "webhook",
        "--name",
        "my-webhook",
        "--option",
        f"api_base={emulator.base_url}",
        "--option",
        f"token={emulator.token}",
    )
    [post] = json.loads(weishang_cli("distribute", "KIWI", "--json").stdout)
    assert post["status"] == "published"
    [sent] = emulator.posts
    assert "/r/" in sent["text"]
