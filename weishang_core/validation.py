"""Whole numbers and short texts typed by people, checked in one place.

``str.isdigit()`` is true for ``"²"`` (which ``int()`` refuses) and ``int()`` reads ``"١٢"`` as 12, so a
check with one and a parse with the other either crashed or accepted digits nobody meant. Numbers here
are ASCII digits only, bounded before ``int()`` sees them; ids fit a 64-bit integer column, since a
larger one made SQLite raise ``OverflowError`` instead of finding nothing. Texts refuse control and
invisible characters: they end up in delivery slips, CSV files and terminals.
"""

from __future__ import annotations

import unicodedata

from weishang_core.errors import UserError

MAX_ID = 2**63 - 1  # the largest value of a BIGINT / SQLite INTEGER column
_DIGITS = frozenset("0123456789")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, invisible formatting, line separators
# Unicode's Default_Ignorable_Code_Point ranges: drawn as nothing, so "勤妹子\ufe0f" would read as 勤妹子.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip


def invisible(ch: str) -> bool:
    """A control, a line separator, or a character drawn as nothing (a variation selector, a joiner)."""
    code = ord(ch)
    return unicodedata.category(ch) in _REFUSED_CATEGORIES or any(low <= code <= high for low, high in _IGNORABLE)


def is_ascii_whole(text: str) -> bool:
    """True for a non-empty run of ASCII digits (no sign, no spaces, no other scripts' digits)."""
    return bool(text) and len(text) <= 30 and set(text) <= _DIGITS


def parse_whole(value: object, field: str, low: int, high: int, what: str = "a whole number") -> int:
    """``value`` (text or int) as an int from ``low`` to ``high``, or a ``UserError`` naming ``field``."""
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not is_ascii_whole(text) or not low <= int(text) <= high:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise UserError(f"{field}: {shown!r} must be {what} from {low} to {high}")
    return int(text)


def parse_id(value: object, field: str, what: str = "number") -> int:
    """A row id typed by someone (an order number, a post id): 1 to ``MAX_ID``."""
    text = str(value).strip() if not isinstance(value, bool) else ""
    if not is_ascii_whole(text) or not 1 <= int(text) <= MAX_ID:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise UserError(f"{field}: {shown!r} is not {_article(what)} {what}")
    return int(text)


def check_text(value: str, field: str, max_length: int) -> str:
    """A one-line text from a person (a contact, a title): at most ``max_length`` characters and no control
    or invisible characters, which would be hidden in a page and acted on by a terminal or a spreadsheet."""
    if not isinstance(value, str):
        raise UserError(f"{field}: must be text")
    if len(value) > max_length:
        raise UserError(f"{field}: longer than {max_length} characters")
    for ch in value:
        if invisible(ch):
            raise UserError(f"{field}: contains a control or invisible character (U+{ord(ch):04X})")
    return value


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
