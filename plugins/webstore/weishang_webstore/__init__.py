"""The seller's own store: the outlet no platform owns (a FastAPI app and the ``webstore`` channel)."""

from __future__ import annotations

from weishang_core import hookimpl

# The store's commands, imported when one runs (``weishang --help`` stays fast): name -> (where, summary).
COMMANDS = {
    "serve": ("serve", "Serve the web store (uvicorn); its pages live at WEISHANG_STORE_URL."),
    "store": ("store", "The web store: which products it shows, and sign-in links for resellers."),
    "console-link": ("console_link", "Print a one-time sign-in link to the seller's console (valid 15 minutes)."),
    "staff": ("staff", "People the seller lets into the console (orders, refunds, products), besides themselves."),
}


@hookimpl
def register_channels(register):
    from weishang_webstore.channel import WebStore

    register(WebStore())


@hookimpl
def register_commands(cli):
    for name, (attribute, summary) in COMMANDS.items():
        cli.add_lazy_command(name, f"weishang_webstore.commands:{attribute}", summary)
