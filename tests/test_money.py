"""Money parsing and arithmetic: integer fen, integer basis points, no float anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weishang_core.errors import UserError
from weishang_core.money import (
    MAX_FEN,
    apply_rate,
    format_rate,
    format_yuan,
    parse_rate,
    parse_yuan,
    split_largest_remainder,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [("39.90", 3990), ("39.9", 3990), ("39", 3900), ("0.01", 1), ("¥12.30", 1230), (" 5.00 ", 500)],
)
def test_parse_yuan_accepts_ordinary_amounts(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc", "not an amount"),
        ("-1", "negative"),
        ("1.234", "more than two decimals"),
        ("1e9", "not an amount"),
        ("NaN", "not an amount"),
        ("inf", "not an amount"),
        ("", "not an amount"),
        ("1,000.00", "not an amount"),
        ("99999999999", "larger than the limit"),
    ],
)
def test_parse_yuan_refuses_bad_text_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_yuan(text, "price")
    assert str(caught.value).startswith("price:")
    assert problem in str(caught.value)


def test_parse_yuan_refuses_floats() -> None:
    with pytest.raises(UserError, match="not float"):
        parse_yuan(39.9)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_format_and_parse_round_trip(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


def test_format_yuan_negative_and_small() -> None:
    assert format_yuan(-5) == "-0.05"
    assert format_yuan(3990) == "39.90"


@pytest.mark.parametrize(("text", "bp"), [("10%", 1000), ("2.5%", 250), ("0.01%", 1), ("100%", 10_000)])
def test_parse_rate(text: str, bp: int) -> None:
    assert parse_rate(text) == bp
    assert parse_rate(format_rate(bp)) == bp


@pytest.mark.parametrize("text", ["10", "101%", "2.555%", "-1%", "1e2%", "ten%"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(UserError, match="^commission L1:"):
        parse_rate(text, "commission L1")


def test_apply_rate_rounds_half_up_where_floats_fail() -> None:
    # Dub's example: 500 x 2.9% is 14.5 and must round to 15 (float arithmetic gave 14).
    assert apply_rate(500, 290) == 15
    assert apply_rate(10_000, 1000) == 1000  # 100.00 at 10% pays 10.00
    assert apply_rate(10_000, 500) == 500
    assert apply_rate(5, 1000) == 1  # 0.5 fen rounds up
    assert apply_rate(4, 1000) == 0


@given(st.integers(min_value=-(10**9), max_value=10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_split_never_creates_or_loses_a_fen(total: int, weights: list[int]) -> None:
    parts = split_largest_remainder(total, weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
    else:
        assert sum(parts) == total
        assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)
