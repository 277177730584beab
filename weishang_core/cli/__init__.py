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
from weishang_core.cli.lazy import LazyGroup
from weishang_core.config import load_settings
from weishang_core.db import normalize_url
from weishang_core.errors import UserError
from weishang_core.plugins import load_plugins, pm


def _safe_url(url: str) -> str:
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


class WeishangGroup(LazyGroup):
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


# Every core command, imported only when it runs: name -> ("module:attribute", the first paragraph of its help).
CORE_COMMANDS = {
    "account": ("weishang_core.cli.accounts:account", "Connect, check and remove outlet accounts."),
    "campaign": (
        "weishang_core.cli.campaign:campaign",
        "Pre-sale campaigns: a target, a deadline and a cap on what the farm can produce.",
    ),
    "channels": ("weishang_core.cli.system:channels", "List the installed outlet channels and their limits."),
    "commissions": ("weishang_core.cli.money:commissions", "The commission ledger and the balances derived from it."),
    "demo": (
        "weishang_core.cli.system:demo",
        "Run the seed's story end to end on this database and print what happened.",
    ),
    "distribute": (
        "weishang_core.cli.distribute:distribute",
        "Publish a product to every outlet account of the poster, in parallel, each exactly once.",
    ),
    "doctor": (
        "weishang_core.cli.system:doctor",
        "Check the database, migrations, broker and plugins; one pass/fail line each.",
    ),
    "init": (
        "weishang_core.cli.system:init",
        "Create or upgrade the database to the latest schema; safe to run again.",
    ),
    "link": ("weishang_core.cli.money:link", "Referral links."),
    "order": ("weishang_core.cli.money:order", "Place and follow orders: pay, ship, deliver, refund, exchange."),
    "payouts": ("weishang_core.cli.money:payouts_group", "Pay available commissions and export the transfers."),
    "plugin": ("weishang_core.cli.system:plugin_group", "Write channel plugins."),
    "plugins": ("weishang_core.cli.system:plugins", "List the loaded plugins and the hooks each implements."),
    "posts": ("weishang_core.cli.distribute:posts", "List posts with their status, attempts, and URL or reason."),
    "product": ("weishang_core.cli.products:product", "Add, change and list products."),
    "report": (
        "weishang_core.cli.report:report",
        "Posts → clicks → orders → revenue → commissions per outlet and per reseller; the referral tree.",
    ),
    "reseller": ("weishang_core.cli.resellers:reseller", "Add and list resellers."),
    "sessions": (
        "weishang_core.cli.sessions:sessions_group",
        "Signed-in browsers (store and console), kept on the server.",
    ),
    "settle": (
        "weishang_core.cli.money:settle",
        "Release held commissions whose return window (and trust hold) has closed; cancel unpaid orders whose "
        "hold on their stock expired.",
    ),
    "worker": (
        "weishang_core.cli.distribute:worker",
        "Run a Celery worker that publishes posts (needs --broker / WEISHANG_BROKER_URL).",
    ),
}
for _name, (_path, _summary) in CORE_COMMANDS.items():
    cli.add_lazy_command(_name, _path, _summary)

load_plugins()
pm.hook.register_commands(cli=cli)
