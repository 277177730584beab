"""Settings from the environment, so the same code runs embedded (no configuration) or at scale."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from weishang_core.errors import UserError
from weishang_core.validation import is_ascii_whole, parse_whole

COMPLIANCE_PROFILES = {"strict": 1, "cn": 2, "open": 3}
MAX_JSON_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CLICKS_PER_ADDRESS = 10  # see docs/decisions.md, "Click spam"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    broker_url: str | None
    store_url: str
    timezone: str
    compliance: str = "cn"
    plugin_allowlist: tuple[str, ...] | None = field(default=None)
    attribution_rule: str = "last-click"  # or "first-click"
    protection_days: int = 0  # a binding cannot be taken over for this long
    attribution_days: int = 30  # a binding lapses after this long
    return_days: int = 7  # the no-reason return window after delivery (七天無理由退貨)
    max_json_bytes: int = MAX_JSON_BYTES  # a request body that is not an upload (docs/security.md)
    max_upload_bytes: int = MAX_UPLOAD_BYTES  # a multipart body: the console's product photos
    clicks_per_address: int = CLICKS_PER_ADDRESS  # counted visitors per link per minute from one IP address
    hold_minutes_online: int = 30  # an unpaid order holds its stock this long with an online payment method
    hold_hours_direct: int = 24  # … and this long when the buyer pays the seller directly (``direct``)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def max_commission_levels(self) -> int:
        return COMPLIANCE_PROFILES[self.compliance]

    def hold_for(self, payment_method: str) -> timedelta:
        """How long an unpaid order keeps its stock: a direct transfer takes the buyer longer than a tap."""
        if payment_method == "direct":
            return timedelta(hours=self.hold_hours_direct)
        return timedelta(minutes=self.hold_minutes_online)


def load_settings(database_url: str | None = None, broker_url: str | None = None) -> Settings:
    """Read ``WEISHANG_*`` variables; explicit arguments (the CLI's ``--db``/``--broker``) win."""
    home = Path(os.environ.get("WEISHANG_HOME", ".weishang")).expanduser()
    url = database_url or os.environ.get("WEISHANG_DATABASE_URL") or f"sqlite:///{(home / 'weishang.db')}"
    broker = broker_url or os.environ.get("WEISHANG_BROKER_URL") or None
    timezone = os.environ.get("WEISHANG_TZ", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"WEISHANG_TZ: unknown time zone {timezone!r}") from None
    compliance = os.environ.get("WEISHANG_COMPLIANCE", "cn")
    if compliance not in COMPLIANCE_PROFILES:
        names = ", ".join(COMPLIANCE_PROFILES)
        raise UserError(f"WEISHANG_COMPLIANCE: unknown profile {compliance!r} (choose {names})")
    allow = os.environ.get("WEISHANG_PLUGINS")
    rule = os.environ.get("WEISHANG_ATTRIBUTION", "last-click")
    if rule not in ("last-click", "first-click"):
        raise UserError(f"WEISHANG_ATTRIBUTION: {rule!r} is not last-click or first-click")
    return Settings(
        home=home,
        database_url=url,
        broker_url=broker,
        store_url=os.environ.get("WEISHANG_STORE_URL", "http://127.0.0.1:8000").rstrip("/"),
        timezone=timezone,
        compliance=compliance,
        plugin_allowlist=tuple(p.strip() for p in allow.split(",") if p.strip()) if allow else None,
        attribution_rule=rule,
        protection_days=_days("WEISHANG_PROTECTION_DAYS", 0),
        attribution_days=_days("WEISHANG_ATTRIBUTION_DAYS", 30),
        return_days=_days("WEISHANG_RETURN_DAYS", 7),
        max_json_bytes=_whole("WEISHANG_MAX_JSON_BYTES", MAX_JSON_BYTES, 1024, 2**30, "a number of bytes"),
        max_upload_bytes=_whole("WEISHANG_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES, 1024, 2**31, "a number of bytes"),
        clicks_per_address=_whole("WEISHANG_CLICKS_PER_ADDRESS", CLICKS_PER_ADDRESS, 1, 100_000, "a number of clicks"),
        hold_minutes_online=_whole("WEISHANG_HOLD_MINUTES_ONLINE", 30, 1, 7 * 24 * 60, "a number of minutes"),
        hold_hours_direct=_whole("WEISHANG_HOLD_HOURS_DIRECT", 24, 1, 30 * 24, "a number of hours"),
    )


def _days(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not is_ascii_whole(text) or int(text) > 3650:
        raise UserError(f"{name}: {text!r} is not a number of days between 0 and 3650")
    return int(text)


def _whole(name: str, default: int, low: int, high: int, what: str) -> int:
    text = os.environ.get(name, "").strip()
    return parse_whole(text, name, low, high, what) if text else default
