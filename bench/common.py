"""What the benchmarks share: a fresh embedded store in a temporary home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from weishang_core import identities, migrate
from weishang_core.config import Settings, load_settings
from weishang_core.db import get_engine, get_sessionmaker


def fresh_store(database_url: str | None = None) -> tuple[Settings, object]:
    home = Path(tempfile.mkdtemp(prefix="weishang-bench-"))
    os.environ["WEISHANG_HOME"] = str(home)
    os.environ.pop("WEISHANG_BROKER_URL", None)
    url = database_url or f"sqlite:///{home / 'bench.db'}"
    os.environ["WEISHANG_DATABASE_URL"] = url
    settings = load_settings(url)
    migrate.upgrade(get_engine(url))
    maker = get_sessionmaker(url)
    with maker.begin() as session:
        identities.set_seller(session, "老李")
    return settings, maker


def report(name: str, figure: str, ratio: float, target: str) -> None:
    print(f"{name}: {figure}; ratio {ratio:.2f} (target {target})")
