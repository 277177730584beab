"""The weishang conformance suite against the {{name}} emulator, and one post end to end."""

import json

import pytest
from weishang_core.channels import Account
from weishang_core.testing import ChannelConformance

from {{module}}.channel import {{Class}}Channel
from {{module}}.testing import {{Class}}Emulator


@pytest.fixture
def emulator():
    with {{Class}}Emulator() as running:
        yield running


class Test{{Class}}Conformance(ChannelConformance):
    @pytest.fixture
    def channel(self):
        return {{Class}}Channel()

    @pytest.fixture
    def account(self, emulator):
        return Account("test", "{{name}}", {"api_base": emulator.base_url}, {"token": emulator.token})


def test_distribute_publishes_through_the_cli(weishang_cli, emulator):
    weishang_cli("product", "add", "--sku", "KIWI", "--title", "紅心獼猴桃", "--price", "39.90")
    weishang_cli(
        "account",
        "add",
        "{{name}}",
        "--name",
        "my-{{name}}",
        "--option",
        f"api_base={emulator.base_url}",
        "--option",
        f"token={emulator.token}",
    )
    [post] = json.loads(weishang_cli("distribute", "KIWI", "--json").stdout)
    assert post["status"] == "published"
    [sent] = emulator.posts
    assert "/r/" in sent["text"]
