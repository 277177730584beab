"""Write the CLI reference (docs/cli.md) from the click commands themselves, so it cannot drift.

    python -m weishang_core.cli.reference > docs/cli.md

A test regenerates it and compares. Plugin commands (``serve``, ``store``) are included when their
plugins are installed, as in this repository's development install.
"""

from __future__ import annotations

import click

from weishang_core.cli import cli


def _walk(command: click.Command, path: list[str]) -> list[str]:
    ctx = click.Context(command, info_name=" ".join(path), terminal_width=100, max_content_width=100)
    lines = [f"## `{' '.join(path)}`", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                lines += _walk(sub, [*path, name])
    return lines


def reference() -> str:
    head = [
        "# CLI reference",
        "",
        "Generated from the commands by `python -m weishang_core.cli.reference > docs/cli.md`; do not edit.",
        "",
    ]
    return "\n".join(head + _walk(cli, ["weishang"])).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(reference(), nl=False)
