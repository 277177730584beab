"""WeChat outlets: the Official Account (公眾號, has a publishing API) and groups/Moments (a share kit).

Limits follow ``shared/specs/CHANNEL_APIS.md`` §1: draft titles are at most 32 characters, article bodies
under 20,000, and the publish endpoint allows 100 submissions a day.
"""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_core.channels import Channel, Limits, Option


class WeChatOfficialAccount(Channel):
    name = "wechat-oa"
    display_name = "WeChat Official Account (公眾號)"
    limits = Limits(
        text_max=20_000,  # draft/add: content < 20,000 characters (spec §1.3)
        title_max=32,  # draft/add: title ≤ 32 characters (spec §1.3)
        images_max=10,
        image_formats=("jpeg", "png"),  # uploadimg takes jpg/png only (spec §1.2)
        image_max_bytes=1_000_000,  # uploadimg: < 1 MB (spec §1.2)
        link_required=True,  # the referral link rides in content_source_url (阅读原文)
        daily_quota=100,  # freepublish/submit: 100 a day (spec §1.5)
    )
    options = (
        Option("appid", required=True, help="the Official Account's AppID"),
        Option("secret", required=True, secret=True, help="the Official Account's AppSecret"),
        Option("api_base", default="https://api.weixin.qq.com", help="API base URL (an emulator in tests)"),
        Option("author", help="article author, at most 16 characters"),
    )


class WeChatShareKit(Channel):
    name = "wechat-share"
    display_name = "WeChat groups and Moments (share kit)"
    limits = Limits(
        text_max=1_000,  # Moments folds longer text behind "全文"; a caption should read at a glance
        images_max=9,  # Moments shows at most nine pictures
        image_formats=("jpeg", "png"),
        link_required=True,
    )
    options = ()


@hookimpl
def register_channels(register):
    register(WeChatOfficialAccount())
    register(WeChatShareKit())
