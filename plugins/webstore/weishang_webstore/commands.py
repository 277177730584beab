"""``weishang serve`` and ``weishang store …``: run the store, list or hide products, send sign-in links."""

from __future__ import annotations

import os

import click

from weishang_core.cli.context import AppContext, pass_app
from weishang_webstore import listing
from weishang_webstore.app import magic_link


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
    """Print a sign-in link for reseller NAME, valid for a day; send it to them yourself."""
    with app.transaction() as session:
        click.echo(magic_link(session, app.settings, name))
