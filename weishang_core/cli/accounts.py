"""``weishang account …``: connect outlets. Secret options are accepted and never shown again."""

from __future__ import annotations

import secrets

import click

from weishang_core import accounts, oauth_callback
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.errors import ChannelError, UserError
from weishang_core.plugins import get_channel
from weishang_core.validation import is_ascii_whole


@click.group()
def account() -> None:
    """Connect, check and remove outlet accounts."""


@account.command("add")
@click.argument("channel")
@click.option("--name", required=True, help="A name for this account, e.g. laoli-oa.")
@click.option("--owner", help="Whose account it is (default: the seller).")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A channel option; repeat.")
@click.option(
    "--daily-cap", default="4", metavar="N", show_default=True, help="Posts a day on this account at most (anti-spam)."
)
@json_option
@pass_app
def add(app: AppContext, channel, name, owner, options, daily_cap, as_json) -> None:
    """Connect an outlet account on CHANNEL (see `weishang channels`)."""
    with app.transaction() as session:
        if not is_ascii_whole(daily_cap.strip()):
            raise UserError(f"daily-cap: {daily_cap!r} is not a whole number of posts a day")
        cap = int(daily_cap)
        record = accounts.add(session, channel, name, owner, accounts.parse_options(options), cap)
        data = accounts.as_dict(record)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"connected {data['name']} ({data['channel']}) for {data['owner']}")
        if get_channel(channel).uses_oauth:
            click.echo(f"next: authorise it on the outlet with `weishang account connect {data['name']}`")


@account.command("connect")
@click.argument("name")
@click.option("--code", help="An authorization code obtained elsewhere (for scripts); skips the browser step.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the browser redirect.")
@pass_app
def connect(app: AppContext, name: str, code: str | None, timeout: float) -> None:
    """Authorise NAME on its outlet (OAuth2): print the address to open, catch or accept the code."""
    with app.transaction() as session:
        record = accounts.get(session, name)
        channel = get_channel(record.channel)
        view = accounts.view(record)
    if not channel.uses_oauth:
        raise UserError(f"{name}: {channel.name} accounts are not connected through OAuth; nothing to do")
    if code is None:
        state = secrets.token_urlsafe(16)
        redirect_uri = channel.redirect_uri(view) or ""
        server = oauth_callback.CallbackServer(redirect_uri, state) if oauth_callback.is_local(redirect_uri) else None
        click.echo("Open this address and allow access:")
        click.echo(f"  {channel.authorize_url(view, state)}")
        if server is not None:
            click.echo(f"waiting for the outlet to send the browser back to {redirect_uri} …", err=True)
            code = server.wait(timeout)
        else:
            code = oauth_callback.code_from(click.prompt("Paste the code (or the whole address you landed on)"))
    else:
        code = oauth_callback.code_from(code)
    try:
        message = channel.connect(view, code)
    except ChannelError as exc:
        raise UserError(f"{name}: {exc}") from None
    with app.transaction() as session:
        accounts.save_state(session, name, view.state)
    click.echo(f"{name}: {message}")


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
            d["status"],
            " ".join(f"{k}={v}" for k, v in d["options"].items()),
        )
        for d in data
    ]
    emit(data, as_json, rows, ["NAME", "CHANNEL", "OWNER", "CAP/DAY", "STATUS", "OPTIONS"], "(no accounts)")


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
    if warning := channel.health(view):
        click.echo(f"{name}: warning: {warning}")


@account.command("remove")
@click.argument("name")
@pass_app
def remove(app: AppContext, name: str) -> None:
    """Disconnect an outlet account."""
    with app.transaction() as session:
        accounts.remove(session, name)
    click.echo(f"removed {name}")
