"""``weishang serve`` and ``weishang store …``: run the store, list or hide products, send sign-in links."""

from __future__ import annotations

import os

import click

from weishang_core import identities, sessions
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, json_option
from weishang_webstore import console_auth, listing
from weishang_webstore.signin import magic_link


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Server processes.")
@pass_app
def serve(app: AppContext, host: str, port: int, workers: int) -> None:
    """Serve the web store (uvicorn); its pages live at WEISHANG_STORE_URL."""
    import uvicorn

    # Worker processes read their configuration from the environment, like every weishang process.
    os.environ["WEISHANG_DATABASE_URL"] = app.settings.database_url
    os.environ["WEISHANG_HOME"] = str(app.settings.home)
    # Each server process runs one request thread per pooled connection (app.lifespan); 16 is enough for
    # the store's short transactions and keeps two processes well under PostgreSQL's 100 connections.
    os.environ.setdefault("WEISHANG_DB_POOL_SIZE", "16")
    click.echo(f"web store on http://{host}:{port} with {workers} worker(s); Ctrl-C stops it", err=True)
    uvicorn.run("weishang_webstore.asgi:app", host=host, port=port, workers=workers, log_level="warning")


@click.group()
def store() -> None:
    """The web store: which products it shows, and sign-in links for resellers."""


@store.command("show")
@click.argument("sku")
@pass_app
def show(app: AppContext, sku: str) -> None:
    """List SKU in the store now (distributing to a webstore account does the same)."""
    with app.transaction() as session:
        product = listing.show(session, sku)
    click.echo(f"{product.sku} is on sale at {app.settings.store_url}/p/{product.sku}")


@store.command("hide")
@click.argument("sku")
@pass_app
def hide(app: AppContext, sku: str) -> None:
    """Take SKU's page down (orders and links stay; its page answers 404)."""
    with app.transaction() as session:
        was = listing.hide(session, sku)
    click.echo(f"{sku} is hidden" if was else f"{sku} was not listed")


@store.command("magic-link")
@click.argument("name")
@pass_app
def magic(app: AppContext, name: str) -> None:
    """Print a single-use sign-in link for reseller NAME, valid for a day; send it to them yourself."""
    with app.transaction() as session:
        click.echo(magic_link(session, app.settings, name))


@click.command("console-link")
@click.option("--identity", "name", help="A staff member to sign in (default: the seller).")
@pass_app
def console_link(app: AppContext, name: str | None) -> None:
    """Print a one-time sign-in link to the seller's console (valid 15 minutes)."""
    with app.transaction() as session:
        click.echo(console_auth.console_link(session, app.settings, name))


@click.group()
def staff() -> None:
    """People the seller lets into the console (orders, refunds, products), besides themselves."""


@staff.command("add")
@click.argument("name")
@click.option("--phone", help="Their mobile number (stored as verified: you vouch).")
@click.option("--email", help="Their email (stored as verified: you vouch).")
@pass_app
def staff_add(app: AppContext, name: str, phone: str | None, email: str | None) -> None:
    """Let NAME use the console; then give them `weishang console-link --identity NAME`."""
    with app.transaction() as session:
        person = identities.set_staff(session, identities.check_handle(name), True)
        identities.vouch(session, person, phone, email)
    click.echo(f"{person.handle} may use the console: weishang console-link --identity {person.handle}")


@staff.command("remove")
@click.argument("name")
@pass_app
def staff_remove(app: AppContext, name: str) -> None:
    """Take NAME off the console; their console sessions end at once."""
    with app.transaction() as session:
        person = identities.set_staff(session, name, False)
        ended = sessions.end_all(session, person.id, "taken off staff", sessions.CONSOLE)
    click.echo(f"{person.handle} no longer has the console" + (f"; {ended} session(s) ended" if ended else ""))


@staff.command("list")
@json_option
@pass_app
def staff_list(app: AppContext, as_json: bool) -> None:
    """List the staff (the seller is not listed: they always have the console)."""
    with app.transaction() as session:
        names = [p.handle for p in identities.list_staff(session)]
    emit([{"name": n} for n in names], as_json, [[n] for n in names], ["NAME"], "(no staff)")
