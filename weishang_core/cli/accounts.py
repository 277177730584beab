"""``weishang account …``: connect outlets. Secret options are accepted and never shown again."""

from __future__ import annotations

import click

from weishang_core import accounts
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.errors import ChannelError, UserError
from weishang_core.plugins import get_channel


@click.group()
def account() -> None:
    """Connect, check and remove outlet accounts."""


@account.command("add")
@click.argument("channel")
@click.option("--name", required=True, help="A name for this account, e.g. laoli-oa.")
@click.option("--owner", help="Whose account it is (default: the seller).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A channel option; repeat.")
@json_option
@pass_app
def add(app: AppContext, channel: str, name: str, owner: str | None, options: tuple[str, ...], as_json: bool) -> None:
    """Connect an outlet account on CHANNEL (see `weishang channels`)."""
    with app.transaction() as session:
        data = accounts.as_dict(accounts.add(session, channel, name, owner, accounts.parse_options(options)))
    if as_json:
        emit_json(data)
    else:
        click.echo(f"connected {data['name']} ({data['channel']}) for {data['owner']}")


@account.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List outlet accounts (secrets masked)."""
    with app.transaction() as session:
        data = [accounts.as_dict(a) for a in accounts.list_all(session)]
    rows = [
        (
            d["name"],
            d["channel"],
            d["owner"],
            d["daily_cap"],
            " ".join(f"{k}={v}" for k, v in d["options"].items()),
        )
        for d in data
    ]
    emit(data, as_json, rows, ["NAME", "CHANNEL", "OWNER", "CAP/DAY", "OPTIONS"], "(no accounts)")


@account.command("check")
@click.argument("name")
@pass_app
def check(app: AppContext, name: str) -> None:
    """Ask the outlet whether the account works."""
    with app.transaction() as session:
        record = accounts.get(session, name)
        channel = get_channel(record.channel)
        view = accounts.view(record)
    try:
        message = channel.check(view)
    except ChannelError as exc:
        raise UserError(f"{name}: {exc}") from None
    click.echo(f"{name}: ok, {message}")


@account.command("remove")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Disconnect an outlet account."""
    with app.transaction() as session:
        accounts.remove(session, name)
    click.echo(f"removed {name}")


def register(cli: click.Group) -> None:
    cli.add_command(account)
