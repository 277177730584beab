"""Docs that cannot drift: every hook is documented with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

from weishang_core import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def hook_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "weishang_spec")]


def test_every_hook_is_documented_with_its_signature() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    assert len(hook_names()) >= 9
    for name in hook_names():
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"## {name}({params})" in text, f"docs/hooks.md lacks '## {name}({params})'"


def test_every_documented_hook_exists() -> None:
    text = (DOCS / "hooks.md").read_text(encoding="utf-8")
    documented = [line[3:].split("(")[0] for line in text.splitlines() if line.startswith("## ")]
    assert sorted(documented) == sorted(hook_names())
