"""Rendering within limits (the link is never cut) and the house rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weishang_core.channels import Limits, count_text
from weishang_core.content import Content, compose, shorten
from weishang_core.policy import no_brags

LINK = "http://127.0.0.1:8000/r/7QK2M9XD"


def kiwi(**changes) -> Content:  # type: ignore[no-untyped-def]
    base = {
        "sku": "K",
        "title": "紅心獼猴桃 5kg",
        "description": "老李從果園直接採購的紅心獼猴桃，軟了就能吃。",
        "price_fen": 3990,
        "link": LINK,
        "poster": "勤妹子",
        "note": "我家孩子最愛吃",
    }
    return Content(**{**base, **changes})


def test_everything_fits_when_there_is_room() -> None:
    text = compose(kiwi(), Limits(text_max=140, text_counting="weibo"))
    assert text == f"【紅心獼猴桃 5kg】\n我家孩子最愛吃\n老李從果園直接採購的紅心獼猴桃，軟了就能吃。\n¥39.90\n{LINK}"


def test_the_description_gives_way_first_and_the_link_survives() -> None:
    text = compose(kiwi(description="很甜" * 200), Limits(text_max=60, text_counting="weibo"))
    assert count_text(text, "weibo") <= 60
    assert text.endswith(f"¥39.90\n{LINK}")
    assert "我家孩子最愛吃" in text and "…" in text


def test_latin_text_is_cut_on_a_word_boundary() -> None:
    assert shorten("the best kiwi in town", 12, "chars") == "the best…"
    assert shorten("紅心獼猴桃很甜", 4, "chars") == "紅心獼…"


@given(st.text(max_size=400), st.text(max_size=200), st.integers(min_value=60, max_value=300))
def test_rendered_text_never_exceeds_the_limit_nor_cuts_the_link(description: str, note: str, limit: int) -> None:
    for counting in ("chars", "weibo"):
        text = compose(kiwi(description=description, note=note), Limits(text_max=limit, text_counting=counting))
        assert count_text(text, counting) <= limit
        assert LINK in text


@pytest.mark.parametrize(
    "text",
    ["今天又出單了，曬單給大家看", "收錢收到手軟", "到賬 3000 元", "Money received from 10 buyers!", "晒单啦"],
)
def test_brags_are_refused_with_a_reason(text: str) -> None:
    reason = no_brags(text)
    assert reason is not None and reason.startswith("content policy:")


@pytest.mark.parametrize("text", ["紅心獼猴桃，軟了就能吃", "The kiwis arrived soft; I exchanged them all.", "收到"])
def test_ordinary_posts_pass(text: str) -> None:
    assert no_brags(text) is None
