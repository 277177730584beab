"""What one post on an outlet may hold, and how the outlet counts text: shared by channels and content.

A module of its own so that composing content (``content``) and the channel contract (``channels``) both
use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TextCounting = Literal["chars", "weibo", "bytes"]


def count_text(text: str, counting: TextCounting) -> int:
    """Length as the outlet counts it.

    ``weibo``: a CJK or other wide character counts 1 and every two narrow (ASCII) characters count 1,
    rounded up — so 140 Chinese characters or 280 ASCII letters fill a post.
    """
    if counting == "bytes":
        return len(text.encode("utf-8"))
    if counting == "weibo":
        narrow = sum(1 for ch in text if ord(ch) < 128)
        wide = len(text) - narrow
        return wide + (narrow + 1) // 2
    return len(text)


@dataclass(frozen=True)
class Limits:
    """What one post on this outlet may hold; the core refuses a post that breaks them before sending."""

    text_max: int | None = None
    text_counting: TextCounting = "chars"
    title_max: int | None = None
    images_max: int = 0
    image_formats: tuple[str, ...] = ("jpeg", "png")
    image_max_bytes: int | None = None
    link_required: bool = True
    link_domain_option: str | None = None  # account option naming the domain links must be on
    daily_quota: int | None = None  # the outlet's own per-day publish quota, if it has one
    hourly_posts: int | None = None  # posts per hour per account the outlet allows; the core waits, not sends

    def as_dict(self) -> dict[str, Any]:
        return {
            "text_max": self.text_max,
            "text_counting": self.text_counting,
            "title_max": self.title_max,
            "images_max": self.images_max,
            "image_formats": list(self.image_formats),
            "image_max_bytes": self.image_max_bytes,
            "link_required": self.link_required,
            "link_domain_option": self.link_domain_option,
            "daily_quota": self.daily_quota,
            "hourly_posts": self.hourly_posts,
        }
