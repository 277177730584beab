"""Event hooks fire after the transaction that caused them commits, never for work that rolled back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from weishang_core.plugins import load_plugins, pm

_KEY = "weishang_pending_events"


def heard(hook: str) -> bool:
    """Whether any plugin implements ``hook``: an import emits 100,000s of events, most of them unheard."""
    load_plugins()
    return bool(getattr(pm.hook, hook).get_hookimpls())


def emit_after_commit(session: Session, hook: str, **kwargs: Any) -> None:
    if heard(hook):
        session.info.setdefault(_KEY, []).append((hook, kwargs))


@event.listens_for(Session, "after_commit")
def _fire(session: Session) -> None:
    pending = session.info.pop(_KEY, [])  # only hooks heard when emitted, so the plugins are loaded
    for hook, kwargs in pending:
        getattr(pm.hook, hook)(**kwargs)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_KEY, None)
