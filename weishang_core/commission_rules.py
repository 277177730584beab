"""Commission rules such as ``L1=10%,L2=3%`` or ``L1=5.00``: per level, a rate or a flat amount per item.

The number of levels is capped by the compliance profile (``docs/compliance.md``): ``cn`` (the default)
allows 2, ``strict`` 1, ``open`` 3; nothing ever allows more than 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from weishang_core.errors import UserError
from weishang_core.money import format_rate, format_yuan, parse_rate, parse_yuan

HARD_MAX_LEVELS = 3
_PART = re.compile(r"L(?P<level>[0-9]{1,9})=(?P<value>.+)")


@dataclass(frozen=True)
class LevelRule:
    level: int
    rate_bp: int | None = None  # a share of the amount paid, in basis points
    flat_fen: int | None = None  # or a fixed amount per item sold

    def __str__(self) -> str:
        value = format_rate(self.rate_bp) if self.rate_bp is not None else format_yuan(self.flat_fen or 0)
        return f"L{self.level}={value}"


def parse_rule(text: str, max_levels: int, profile: str = "cn", field: str = "commission") -> list[LevelRule]:
    """Parse and check a rule; levels must start at L1, not repeat, and stay within ``max_levels``."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UserError(f"{field}: empty rule; write it like L1=10%,L2=3% or L1=5.00")
    rules: dict[int, LevelRule] = {}
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            raise UserError(f"{field}: {part!r} should look like L1=10% (a rate) or L1=5.00 (per item)")
        level = int(match["level"])
        if level < 1:
            raise UserError(f"{field}: levels start at L1, got {part!r}")
        if level > HARD_MAX_LEVELS:
            raise UserError(f"{field}: L{level} is beyond 3 levels, which weishang never pays")
        if level > max_levels:
            raise UserError(
                f"{field}: L{level} is above the {max_levels} level(s) the {profile!r} compliance profile "
                f"allows (see docs/compliance.md)"
            )
        if level in rules:
            raise UserError(f"{field}: L{level} is given twice")
        value = match["value"].strip()
        if value.endswith("%"):
            rules[level] = LevelRule(level, rate_bp=parse_rate(value, f"{field} L{level}"))
        else:
            rules[level] = LevelRule(level, flat_fen=parse_yuan(value, f"{field} L{level}"))
    missing = [lv for lv in range(1, max(rules) + 1) if lv not in rules]
    if missing:
        raise UserError(f"{field}: L{missing[0]} is missing; levels must run L1, L2, … without gaps")
    total_bp = sum(r.rate_bp or 0 for r in rules.values())
    if total_bp >= 10_000:
        raise UserError(f"{field}: the rates add up to {format_rate(total_bp)}; they must stay below 100%")
    return [rules[lv] for lv in sorted(rules)]


def format_rule(rules: list[LevelRule]) -> str:
    return ",".join(str(r) for r in rules)
