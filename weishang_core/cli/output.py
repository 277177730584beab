"""How the CLI prints: aligned tables for people (CJK-aware widths), ``--json`` for scripts."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import click


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON with stable keys.")(func)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * (size - width(text))


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    sizes = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(pad(c, sizes[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * s for s in sizes))
    return "\n".join(lines)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))


def emit(
    data: Any, as_json: bool, rows: Sequence[Sequence[Any]], headers: Sequence[str], empty: str = "(none)"
) -> None:
    """Print ``data`` as JSON, or ``rows`` as a table (``empty`` when there are none)."""
    if as_json:
        emit_json(data)
    elif rows:
        click.echo(table(rows, headers))
    else:
        click.echo(empty)
