"""A channel made with `weishang plugin new`, imported from a temporary folder, for the core's own tests."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from weishang_core import hookimpl
from weishang_core.plugins import pm
from weishang_core.scaffold import new_plugin


def load_scaffold(parent: Path, name: str = "testout") -> Any:
    """Scaffold ``weishang-NAME`` under ``parent`` and import its package."""
    target = new_plugin(name, parent)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    module = importlib.import_module(f"weishang_{name}")
    return module


@contextmanager
def registered(*plugins: Any) -> Iterator[None]:
    for index, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-plugin-{id(plugin)}-{index}")
    try:
        yield
    finally:
        for plugin in plugins:
            pm.unregister(plugin)


class EventLog:
    """A plugin that records the event hooks it receives."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def post_published(self, post_id: int, channel: str, external_url: str | None) -> None:
        self.events.append(("post_published", {"post_id": post_id, "url": external_url}))

    @hookimpl
    def post_failed(self, post_id: int, channel: str, reason: str) -> None:
        self.events.append(("post_failed", {"post_id": post_id, "reason": reason}))
