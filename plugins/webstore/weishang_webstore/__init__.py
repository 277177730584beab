"""The seller's own store: the outlet no platform owns (a FastAPI app and the ``webstore`` channel)."""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_webstore.channel import WebStore


@hookimpl
def register_channels(register):  # type: ignore[no-untyped-def]
    register(WebStore())


@hookimpl
def register_commands(cli):  # type: ignore[no-untyped-def]
    from weishang_webstore.commands import console_link, serve, staff, store

    for command in (serve, store, console_link, staff):
        cli.add_command(command)
