"""The conformance suite every channel runs against its emulator.

Subclass :class:`ChannelConformance` in a test module and provide three fixtures: ``channel`` (an
instance), ``emulator`` (started, stopped after the test) and ``account`` (a
:class:`weishang_core.channels.Account` pointed at the emulator). Optionally override ``content``.
Every test below then runs against your channel::

    class TestMyChannel(ChannelConformance):
        @pytest.fixture
        def channel(self): return MyChannel()
        ...
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from weishang_core.channels import Account, Channel, Limits, PublishResult, count_text, validate_channel
from weishang_core.content import Content
from weishang_core.errors import (
    AuthExpired,
    PermanentError,
    RateLimited,
    TransientError,
    UserError,
)
from weishang_core.testing.emulator import Emulator

# A tiny valid PNG (1x1), so channels that upload images have one to upload.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2d4e3a90000000049454e44ae426082"
)


def settle(channel: Channel, account: Account, result: PublishResult, timeout: float = 30) -> PublishResult:
    """Poll a pending result until the outlet says published (for asynchronous outlets)."""
    deadline = time.monotonic() + timeout
    while result.status == "pending":
        assert time.monotonic() < deadline, "the outlet never confirmed the post"
        time.sleep(min(result.poll_after, 0.2))
        result = channel.poll(account, result.external_id)
    return result


class ChannelConformance:
    """What every channel promises the core. Provide ``channel``, ``emulator`` and ``account`` fixtures.

    Set ``remote = False`` for a channel that never calls a server (a share kit written to disk): the
    fault tests then check that publishing twice with one key gives one post instead.
    """

    remote = True

    @pytest.fixture
    def content(self, tmp_path: Path, account: Account) -> Content:
        image = tmp_path / "kiwi.png"
        image.write_bytes(PNG_1X1)
        domain = account.option("safe_domain") or "127.0.0.1"
        return Content(
            sku="KIWI-RED-5KG",
            title="紅心獼猴桃 5kg 老李果園直送",
            description="老李從果園直接採購的紅心獼猴桃，軟了就能吃。" * 30
            + " Red-heart kiwis, straight from the farm.",
            price_fen=3990,
            link=f"http://{domain}:8000/r/7QK2M9XD",
            poster="勤妹子",
            note="我家孩子最愛吃！My kids love them.",
            images=(image,),
            is_reseller=True,
        )

    def _publish(self, channel: Channel, account: Account, content: Content, key: str) -> PublishResult:
        result = channel.publish(account, channel.render(content), key)
        assert isinstance(result, PublishResult)
        return settle(channel, account, result)

    def test_declares_a_valid_name_and_limits(self, channel: Channel) -> None:
        validate_channel(channel)
        assert isinstance(channel.limits, Limits)
        assert channel.describe()["name"] == channel.name

    def test_refuses_unknown_options(self, channel: Channel) -> None:
        with pytest.raises(UserError, match="does not take it"):
            channel.validate_options({"no_such_option_anywhere": "1"})
        if any(o.required for o in channel.options):
            with pytest.raises(UserError, match="required"):
                channel.validate_options({})

    def test_render_is_pure(self, channel: Channel, content: Content, emulator: Emulator) -> None:
        before = len(emulator.received)
        assert channel.render(content) == channel.render(content)
        assert len(emulator.received) == before, "render must not call the outlet"

    def test_render_honours_limits_and_keeps_the_link(self, channel: Channel, content: Content) -> None:
        payload = channel.render(content)
        limits = channel.limits
        text = payload.get("text", "")
        if limits.text_max is not None:
            assert count_text(text, limits.text_counting) <= limits.text_max
        if limits.title_max is not None and payload.get("title"):
            assert len(payload["title"]) <= limits.title_max
        assert len(payload.get("images", [])) <= limits.images_max
        if limits.link_required:
            assert content.link in text or payload.get("link") == content.link

    def test_publish_returns_where_the_post_lives(self, channel, account, content) -> None:
        result = self._publish(channel, account, content, "conformance-publish-1")
        assert result.status == "published" and result.external_id

    def test_keeps_its_connection_to_the_outlet_between_posts(self, channel, account, content, emulator) -> None:
        """A worker publishes hundreds of posts; a new connection (TCP, and TLS for a real outlet) for each
        call costs more than the call. Send through ``weishang_core.outbound.session()``."""
        if not self.remote:
            return
        before = len(emulator.received)
        for n in range(3):
            self._publish(channel, account, content, f"conformance-reuse-{n}")
        clients = {request.client for request in emulator.received[before:]}
        assert len(clients) == 1, f"{len(clients)} connections for 3 posts: use weishang_core.outbound.session()"

    def test_lookup_finds_an_earlier_post_and_nothing_else(self, channel, account, content) -> None:
        if not channel.supports_lookup:  # then the core marks a post with an unknown outcome unconfirmed
            with pytest.raises(PermanentError):
                channel.lookup(account, "conformance-lookup-1")
            return
        published = self._publish(channel, account, content, "conformance-lookup-1")
        found = channel.lookup(account, "conformance-lookup-1")
        assert found is not None and found.external_id == published.external_id
        assert channel.lookup(account, "conformance-never-used") is None

    def test_lookup_after_a_lost_reply_prevents_a_duplicate(self, channel, account, content, emulator) -> None:
        if not self.remote:
            first = self._publish(channel, account, content, "conformance-local-1")
            assert channel.lookup(account, "conformance-local-1") == first
            return
        emulator.inject("drop_reply")
        with pytest.raises(TransientError):  # UnknownOutcome is a TransientError
            channel.publish(account, channel.render(content), "conformance-lost-1")
        if not channel.supports_lookup:
            return
        found = channel.lookup(account, "conformance-lost-1")
        assert found is not None, "the post the outlet made before the reply was lost must be found"
        assert channel.lookup(account, "conformance-lost-1") == found

    @pytest.mark.parametrize(
        ("kind", "error"),
        [
            ("transient", TransientError),
            ("rate_limited", RateLimited),
            ("permanent", PermanentError),
            ("auth_expired", AuthExpired),
        ],
    )
    def test_maps_outlet_errors_to_core_errors(self, channel, account, content, emulator, kind, error) -> None:
        if not self.remote:
            assert self._publish(channel, account, content, f"conformance-{kind}").status == "published"
            return
        emulator.inject(kind, times=3)  # a channel may refresh once after auth_expired; it must not loop
        with pytest.raises(error) as caught:
            channel.publish(account, channel.render(content), f"conformance-{kind}")
        if error is RateLimited:
            assert caught.value.retry_after > 0
