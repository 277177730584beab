"""What every command shares: the settings and a transaction on the right database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from weishang_core import migrate
from weishang_core.config import Settings
from weishang_core.db import get_engine, get_sessionmaker
from weishang_core.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass
class AppContext:
    settings: Settings
    _schema_checked: bool = False

    def ensure_schema(self) -> None:
        if self._schema_checked:
            return
        current = migrate.current_revision(get_engine(self.settings.database_url))
        if current is None:
            raise UserError("the database is not set up: run `weishang init` first")
        if current != migrate.HEAD:
            raise UserError(f"the database is at revision {current}, not the latest: run `weishang init`")
        self._schema_checked = True

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One command, one transaction: it commits whole or not at all."""
        self.ensure_schema()
        with get_sessionmaker(self.settings.database_url).begin() as session:
            yield session


pass_app = click.make_pass_decorator(AppContext)
