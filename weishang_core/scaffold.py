"""``weishang plugin new NAME``: a complete channel plugin distribution that passes the kit as it is."""

from __future__ import annotations

import re
from pathlib import Path

from weishang_core.errors import UserError

TEMPLATE = Path(__file__).with_name("scaffold_template")
_NAME = re.compile(r"[a-z][a-z0-9-]{1,31}")


def names(name: str) -> dict[str, str]:
    if not _NAME.fullmatch(name):
        raise UserError(f"name: {name!r} must be 2-32 lowercase letters, digits or '-', starting with a letter")
    words = name.split("-")
    return {
        "{{name}}": name,
        "{{module}}": "weishang_" + "_".join(words),
        "{{Class}}": "".join(w.capitalize() for w in words),
        "{{display}}": " ".join(w.capitalize() for w in words) + " channel",
    }


def new_plugin(name: str, parent: Path) -> Path:
    """Write ``parent/weishang-NAME/`` from the template; refuses to overwrite anything."""
    replacements = names(name)
    target = parent / f"weishang-{name}"
    if target.exists():
        raise UserError(f"name: {target} already exists")
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir() or "__pycache__" in source.parts:
            continue
        relative = str(source.relative_to(TEMPLATE))
        text = source.read_text(encoding="utf-8")
        for placeholder, value in replacements.items():
            relative = relative.replace(placeholder, value)
            text = text.replace(placeholder, value)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
    return target
