"""Bring a database to the latest schema with Alembic: the only way weishang creates or changes tables.

Every command checks the schema before it runs, so that check must not import Alembic (a quarter of a
second): it reads ``alembic_version`` with SQLAlchemy and compares it with ``HEAD``, which a test holds
equal to the newest revision in ``migrations/versions``. Alembic is imported only to upgrade.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0007_no_trust_events"  # the newest revision; tests/test_migrations.py checks it against the folder


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision, as Alembic reads it from the migrations folder."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no schema yet."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise RuntimeError(f"alembic_version: more than one head ({', '.join(versions)}); weishang has one line")
    return versions[0] if versions else None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Upgrade to head; harmless when already there. Returns (revision before, revision after)."""
    from alembic import command

    before = current_revision(engine)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head_revision()
