"""Sina Weibo: OAuth2 and ``statuses/share.json`` (``shared/specs/CHANNEL_APIS.md`` §2)."""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_core.channels import Channel, Limits, Option


class Weibo(Channel):
    name = "weibo"
    display_name = "Sina Weibo (微博)"
    limits = Limits(
        text_max=140,  # statuses/share: ≤ 140 Chinese characters (spec §2.2)
        text_counting="weibo",
        images_max=1,  # one `pic`
        image_formats=("jpeg", "png", "gif"),
        image_max_bytes=5 * 1024 * 1024 - 1,  # pic < 5 MB (spec §2.2)
        link_required=True,  # a URL on the app's safe domain is mandatory (spec §2.2)
        link_domain_option="safe_domain",
    )
    options = (
        Option("app_key", required=True, help="the app's App Key (client_id)"),
        Option("app_secret", required=True, secret=True, help="the app's App Secret"),
        Option("redirect_uri", required=True, help="the OAuth2 redirect URI registered for the app"),
        Option("safe_domain", required=True, help="the app's safe domain: your store's domain"),
        Option("api_base", default="https://api.weibo.com", help="API base URL (an emulator in tests)"),
    )


@hookimpl
def register_channels(register):
    register(Weibo())
