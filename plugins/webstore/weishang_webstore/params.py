"""Ids in addresses: a path parameter or a comma-separated list, held to what a database column can hold.

FastAPI reads ``/orders/99999999999999999999`` as a Python int happily; SQLite then raised
``OverflowError`` (a 500) looking it up. Ids here are 1 to ``validation.MAX_ID``, ASCII digits only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from weishang_core.errors import UserError
from weishang_core.validation import MAX_ID, parse_id

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]  # a 422 naming the parameter past that


def id_list(ids: str, field: str, *, required: bool, most: int = 200) -> list[int]:
    """``"3,4,5"`` as ``[3, 4, 5]``: at most ``most`` ids, each a valid row id, or a ``UserError``."""
    parts = [p.strip() for p in ids.split(",") if p.strip()]
    try:
        if (required and not parts) or len(parts) > most:
            raise UserError(field)
        return [parse_id(p, field, "post id") for p in parts]
    except UserError:
        raise UserError(f"{field}: give at most {most} post ids separated by commas") from None
