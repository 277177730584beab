"""``WEISHANG_HOME`` and the SQLite database file are readable by their owner only.

The database holds the outlets' secrets in clear and the store's signing key (docs/decisions.md,
"Secrets"), so another account on the machine reading it could post as the seller or sign in as anyone.
Both are created private (0700 for folders, 0600 for the database; SQLite gives its ``-wal`` and
``-shm`` files the database's own mode). Looser modes on an existing installation are tightened by
``weishang init`` (run at every upgrade) and reported by ``weishang doctor`` until then; nothing else
changes modes behind the owner's back.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from weishang_core.config import Settings

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def make_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) as a private folder; an existing one is left as it is."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=FOLDER_MODE, exist_ok=True)
    return path


def make_home(settings: Settings) -> Path:
    return make_folder(settings.home)


def create_database_file(path: Path) -> None:
    """An empty, private file for SQLite to make its database in (it keeps an empty file's mode)."""
    make_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))


def sqlite_file(database_url: str) -> Path | None:
    """The database's file when it is SQLite on disk, else None."""
    try:
        url = make_url(database_url)
    except Exception:
        return None
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def private_paths(settings: Settings) -> list[tuple[Path, int]]:
    """Every path that must be private, with the mode it must not exceed, if it exists."""
    paths = [(settings.home, FOLDER_MODE)]
    database = sqlite_file(settings.database_url)
    if database is not None:
        paths += [(Path(f"{database}{suffix}"), FILE_MODE) for suffix in ("", "-wal", "-shm")]
    return [(path, mode) for path, mode in paths if path.exists()]


def loose(settings: Settings) -> list[tuple[Path, int]]:
    """The private paths that others can read or enter, with their current mode."""
    found = []
    for path, allowed in private_paths(settings):
        current = stat.S_IMODE(path.stat().st_mode)
        if current & ~allowed:
            found.append((path, current))
    return found


def tighten(settings: Settings) -> list[tuple[Path, int]]:
    """Take group and other permissions off every loose private path; the ones changed, with their old mode."""
    changed = loose(settings)
    for path, current in changed:
        path.chmod(current & (FOLDER_MODE if path.is_dir() else FILE_MODE))
    return changed
