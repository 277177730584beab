"""Checks that run before anything is queued; each refusal is a sentence stored on the post.

The house rules come from the seed: at most four product posts a day per outlet account, and never an
order screenshot or a "money received" brag (曬單/收錢) — they burn the trust the whole trade runs on.
Plugins add policies through the ``content_policies`` hook.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from weishang_core.channels import Account, Channel, count_text
from weishang_core.plugins import load_plugins, pm

ContentPolicy = Callable[[str], str | None]

_BRAGS = [
    (
        r"曬單|晒单|曬图|晒图|訂單截圖|订单截图|成交截圖|成交截图|轉賬截圖|转账截图|收款截圖|收款截图",
        "an order or payment screenshot (曬單)",
    ),
    (r"收錢|收钱|到賬|到账|收款了|又出單|又出单|爆單|爆单|今日收入|日入\d|月入\d", "a payment brag (收錢)"),
    (
        r"money received|payment received|order screenshot|screenshot of (?:the |my )?orders?|made \$?\d+ today",
        "a payment brag or order screenshot",
    ),
]


def no_brags(text: str) -> str | None:
    """The built-in content policy: refuse 曬單/收錢 posts."""
    for pattern, what in _BRAGS:
        found = re.search(pattern, text, flags=re.IGNORECASE)
        if found:
            return f"content policy: the text reads as {what} ({found.group(0)!r}); such posts burn trust"
    return None


def content_policies() -> list[ContentPolicy]:
    load_plugins()
    extra: list[ContentPolicy] = [p for batch in pm.hook.content_policies() for p in (batch or [])]
    return [no_brags, *extra]


def check_content(text: str) -> str | None:
    for policy in content_policies():
        reason = policy(text)
        if reason:
            return reason
    return None


def check_limits(channel: Channel, account: Account, payload: dict, link: str) -> str | None:
    """The outlet's own limits, checked on the rendered payload before sending."""
    limits = channel.limits
    text = payload.get("text", "")
    if limits.text_max is not None and count_text(text, limits.text_counting) > limits.text_max:
        return (
            f"{channel.name} limit: the text is {count_text(text, limits.text_counting)} characters "
            f"({limits.text_counting} counting); at most {limits.text_max}"
        )
    title = payload.get("title")
    if limits.title_max is not None and title and len(title) > limits.title_max:
        return f"{channel.name} limit: the title is {len(title)} characters; at most {limits.title_max}"
    images = payload.get("images", [])
    if len(images) > limits.images_max:
        return f"{channel.name} limit: {len(images)} images; at most {limits.images_max}"
    if limits.link_required:
        if link not in text and link != payload.get("link"):
            return f"{channel.name} limit: the post must carry its referral link"
        if limits.link_domain_option:
            domain = (account.option(limits.link_domain_option) or "").lower()
            host = (urlsplit(link).hostname or "").lower()
            if not domain or not (host == domain or host.endswith("." + domain)):
                return (
                    f"{channel.name} limit: the link {link} is not on the account's "
                    f"{limits.link_domain_option} {domain or '(unset)'}; set WEISHANG_STORE_URL to a URL on it"
                )
    return None
