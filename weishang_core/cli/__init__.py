"""The ``weishang`` command line: one group, nouns as sub-groups, ``--json`` on every listing."""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, TimeoutError

from weishang_core import __version__
from weishang_core.cli.context import AppContext
from weishang_core.config import load_settings
from weishang_core.db import normalize_url
from weishang_core.errors import UserError
from weishang_core.plugins import load_plugins, pm


def _safe_url(url: str) -> str:
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


class WeishangGroup(click.Group):
    """Turns user errors and an unreachable database into one line and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except IntegrityError:  # a race the database settled: another command wrote the same thing first
            raise click.ClickException("conflict: another command changed this at the same moment; try again") from None
        except (OperationalError, InterfaceError, TimeoutError) as exc:
            app = ctx.find_object(AppContext)
            where = _safe_url(app.settings.database_url) if app else "the database"
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            if "database is locked" in first:  # SQLite's one writer was busy for longer than busy_timeout
                first += " (another command is writing; try again)"
            raise click.ClickException(f"database {where}: {first}") from None


@click.group(cls=WeishangGroup)
@click.version_option(__version__, prog_name="weishang")
@click.option("--db", "database_url", metavar="URL", help="Database URL [env WEISHANG_DATABASE_URL].")
@click.option("--broker", "broker_url", metavar="URL", help="Celery broker URL [env WEISHANG_BROKER_URL].")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, broker_url: str | None) -> None:
    """weishang: add a product once, publish it to every outlet you own, and pay the people who sell it."""
    try:
        settings = load_settings(database_url, broker_url)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.obj = AppContext(settings=settings)


def main() -> None:
    if os.environ.get("WEISHANG_DEBUG"):
        cli()
        return
    try:
        cli(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected bug: one line, with the way to see more
        click.echo(f"Error: internal error {type(exc).__name__}: {exc} (set WEISHANG_DEBUG=1 for details)", err=True)
        sys.exit(1)


from weishang_core.cli import (  # noqa: E402
    accounts,
    campaign,
    distribute,
    money,
    products,
    report,
    resellers,
    sessions,
    system,
)

for module in (system, products, resellers, accounts, distribute, money, campaign, report, sessions):
    module.register(cli)

load_plugins()
pm.hook.register_commands(cli=cli)
