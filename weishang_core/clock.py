"""Times typed by people (ISO 8601, the seller's zone when none is given) and the seller's calendar day."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from weishang_core.errors import UserError


def parse_when(text: str, tz: ZoneInfo, field: str = "time") -> datetime:
    """``2026-12-01T09:00`` is 9 a.m. in the seller's zone; ``…Z`` or ``…+08:00`` are taken as written."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{field}: {text!r} is not an ISO 8601 time such as 2026-12-01T09:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def local_day(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).date().isoformat()
