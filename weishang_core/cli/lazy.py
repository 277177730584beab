"""A click group whose commands are imported when one runs, so ``weishang --help`` starts in a blink.

Each command is named by ``"module:attribute"`` with the first paragraph of its help; the help page is
drawn from that summary, and only the command that runs (or whose help is asked) imports its module and
what that needs (the ORM, Celery, the web stack). ``tests/test_cli_startup.py`` holds the summaries equal
to the commands' own help.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """``add_lazy_command(name, "pkg.module:attr", summary)`` beside the usual ``add_command``."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy: dict[str, tuple[str, str]] = {}

    def add_lazy_command(self, name: str, import_path: str, summary: str) -> None:
        self.lazy[name] = (import_path, summary)

    def load(self, name: str) -> click.Command:
        """Import one lazy command and keep it as an ordinary one."""
        module_name, _, attribute = self.lazy[name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy[name][0]} is not a click command")
        self.add_command(command, name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            return self.load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, except that a command not yet imported is summarised from its entry."""
        names = self.list_commands(ctx)
        rows: list[tuple[str, str | None]] = []
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, summarise(self.lazy[name][1], limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl([(name, text or "") for name, text in rows])


def summarise(summary: str, limit: int) -> str:
    """The short help click would show for a command whose help starts with ``summary``."""
    return click.Command(None, help=summary).get_short_help_str(limit)
