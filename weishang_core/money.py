"""Money and rates as integers.

Amounts are integer fen (1 yuan = 100 fen) and rates integer basis points (10000 = 100%), because binary
floats cannot hold 0.1 and commission rounding must be reproducible to the fen. Text is the only way in:
a float reaching these functions is a bug upstream, so it is refused rather than guessed at.
"""

from __future__ import annotations

import re

from weishang_core.errors import UserError

MAX_FEN = 10_000_000_00  # ten million yuan: larger amounts are typos, not sales
# re.ASCII: ``\d`` would otherwise take any script's digits ("٣٩.٩٠"), which nobody types for a price on purpose
_YUAN = re.compile(r"(?P<int>\d{1,12})(?:\.(?P<frac>\d{1,2}))?", re.ASCII)
_PERCENT = re.compile(r"(?P<int>\d{1,3})(?:\.(?P<frac>\d{1,2}))?%", re.ASCII)


def parse_yuan(text: str, field: str = "amount", *, allow_zero: bool = True) -> int:
    """Parse ``"39.90"`` into 3990 fen; refuse floats, exponents, negatives and a third decimal."""
    if not isinstance(text, str):
        raise UserError(f"{field}: give the amount as text such as 39.90, not {type(text).__name__}")
    cleaned = text.strip().removeprefix("¥").removeprefix("￥")
    match = _YUAN.fullmatch(cleaned)
    if match is None:
        if cleaned.startswith("-"):
            raise UserError(f"{field}: {text!r} is negative; amounts must be 0.00 or more")
        if re.fullmatch(r"\d+\.\d{3,}", cleaned, re.ASCII):
            raise UserError(f"{field}: {text!r} has more than two decimals; amounts are in yuan and fen")
        raise UserError(f"{field}: {text!r} is not an amount in yuan such as 39.90")
    fen = int(match["int"]) * 100 + int((match["frac"] or "0").ljust(2, "0"))
    if fen > MAX_FEN:
        raise UserError(f"{field}: {text!r} is larger than the limit of {format_yuan(MAX_FEN)}")
    if fen == 0 and not allow_zero:
        raise UserError(f"{field}: must be more than 0.00")
    return fen


def format_yuan(fen: int) -> str:
    """Print fen as yuan with exactly two decimals: 3990 -> ``"39.90"``, -5 -> ``"-0.05"``."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"fen must be an int, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def parse_rate(text: str, field: str = "rate") -> int:
    """Parse ``"10%"`` into 1000 basis points and ``"2.5%"`` into 250; at most 100% and 0.01% steps."""
    if not isinstance(text, str):
        raise UserError(f"{field}: give the rate as text such as 10%, not {type(text).__name__}")
    match = _PERCENT.fullmatch(text.strip())
    if match is None:
        raise UserError(f"{field}: {text!r} is not a percentage such as 10% or 2.5% (at most two decimals)")
    bp = int(match["int"]) * 100 + int((match["frac"] or "0").ljust(2, "0"))
    if bp > 10_000:
        raise UserError(f"{field}: {text!r} is more than 100%")
    return bp


def format_rate(bp: int) -> str:
    """Print basis points as a percentage without needless zeros: 250 -> ``"2.5%"``."""
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


def apply_rate(amount_fen: int, bp: int) -> int:
    """``amount × rate`` rounded half up to the fen, in integers only (500 fen × 2.9% = 14.5 -> 15)."""
    if amount_fen < 0:
        return -apply_rate(-amount_fen, bp)
    return (amount_fen * bp * 2 + 10_000) // 20_000


def split_largest_remainder(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` fen in proportion to ``weights`` so the parts add up to exactly ``total``.

    Each part gets the floor of its share; the fen left over go one each to the largest remainders
    (ties to the earlier part), so no fen is created or lost.
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0 for _ in weights]
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return [sign * part for part in floors]
