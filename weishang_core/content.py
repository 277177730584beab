"""What a post says: the seller's material as the template, the poster's note, and the tracked link.

:func:`compose` fits it all into an outlet's text limit as that outlet counts characters: the link and
the price are never cut; the description gives way first, then the note, then the title, each cut on a
word boundary (Latin text) or a character boundary (Chinese) and marked with "…".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weishang_core.limits import Limits, count_text
from weishang_core.money import format_yuan

ELLIPSIS = "…"


@dataclass(frozen=True)
class Content:
    """Everything a channel needs to render one post; plain data, so rendering stays pure."""

    sku: str
    title: str
    description: str
    price_fen: int
    link: str
    poster: str
    note: str = ""
    images: tuple[Path, ...] = ()
    is_reseller: bool = False
    campaign: dict[str, Any] | None = field(default=None)

    @property
    def price(self) -> str:
        return format_yuan(self.price_fen)


def shorten(text: str, budget: int, counting: str) -> str:
    """Cut ``text`` to ``budget`` (as the outlet counts), on a word or character boundary, with "…"."""
    if count_text(text, counting) <= budget:  # type: ignore[arg-type]
        return text
    if budget <= count_text(ELLIPSIS, counting):  # type: ignore[arg-type]
        return ""
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if count_text(text[:mid] + ELLIPSIS, counting) <= budget:  # type: ignore[arg-type]
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    if lo < len(text) and text[lo].isascii() and text[lo].isalnum() and cut and cut[-1].isascii():
        word_start = max(cut.rfind(" "), cut.rfind("\n"))
        if word_start > 0:
            cut = cut[:word_start]
    return cut.rstrip() + ELLIPSIS


def campaign_line(content: Content) -> str:
    campaign = content.campaign
    if not campaign:
        return ""
    return f"眾籌 {campaign['raised']}/{campaign['target']} 元，{campaign['deadline']} 截止"


def compose(content: Content, limits: Limits, *, include_link: bool = True) -> str:
    """The post's text within ``limits.text_max``; the link and price always survive intact."""
    counting = limits.text_counting
    fixed_tail = "\n".join(
        p for p in (campaign_line(content), f"¥{content.price}", content.link if include_link else "") if p
    )
    parts = {
        "title": content.title.strip(),
        "note": content.note.strip(),
        "description": content.description.strip(),
    }
    if limits.text_max is None:
        return _join(parts, fixed_tail)
    for name in ("description", "note", "title"):
        overflow = count_text(_join(parts, fixed_tail), counting) - limits.text_max
        if overflow <= 0:
            break
        current = count_text(parts[name], counting)
        parts[name] = shorten(parts[name], max(0, current - overflow), counting)
    return _join(parts, fixed_tail)


def _join(parts: dict[str, str], tail: str) -> str:
    head = f"【{parts['title']}】" if parts["title"] else ""
    body = "\n".join(p for p in (parts["note"], parts["description"]) if p)
    return "\n".join(p for p in (head, body, tail) if p)


URL = re.compile(r"https?://[^\s<>\"']+")


def links_in(text: str) -> list[str]:
    return URL.findall(text)
