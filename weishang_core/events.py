"""Event hooks fire after the transaction that caused them commits, never for work that rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from weishang_core.plugins import load_plugins, pm

_KEY = "weishang_pending_events"


def emit_after_commit(session: Session, hook: str, **kwargs: Any) -> None:
    session.info.setdefault(_KEY, []).append((hook, kwargs))


@event.listens_for(Session, "after_commit")
def _fire(session: Session) -> None:
    pending = session.info.pop(_KEY, [])
    if pending:
        load_plugins()
    listened: dict[str, bool] = {}  # an import commits 100,000s of events; skip the hooks nobody implements
    for hook, kwargs in pending:
        caller = getattr(pm.hook, hook)
        if listened.setdefault(hook, bool(caller.get_hookimpls())):
            caller(**kwargs)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_KEY, None)
