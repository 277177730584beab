"""Whether the configured Celery broker answers; Redis is the supported broker."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def ping_broker(url: str) -> tuple[bool, str]:
    if not url.startswith(("redis://", "rediss://")):
        return False, f"{redacted(url)}: only redis:// brokers are supported"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        return False, f"{redacted(url)}: {exc}"
    return True, f"{redacted(url)} answers"
