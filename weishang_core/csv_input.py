"""Reading a seller's CSV file: UTF-8 (with or without Excel's BOM), a header row, every cell trimmed.

Header problems are refused before any row is read, naming the missing or unknown column.
"""

from __future__ import annotations

import csv
from pathlib import Path

from weishang_core.errors import UserError


def read_rows(path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (row number, {column: trimmed text}), numbered from 1 after the header."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"file: {path!r} is not a file")
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"file: {path!r} is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"{path}: the header row lacks {', '.join(missing)} (required: {','.join(required)})")
    unknown = [c for c in header if c not in required + optional]
    if unknown:
        raise UserError(f"{path}: unknown column {unknown[0]!r} (known: {', '.join(required + optional)})")
    rows = [
        (number, {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None})
        for number, raw in enumerate(reader, start=1)
    ]
    if not rows:
        raise UserError(f"{path}: no rows to import")
    return rows
