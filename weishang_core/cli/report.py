"""``weishang report``: the funnel per outlet and per reseller, and the referral tree (as the console shows)."""

from __future__ import annotations

from pathlib import Path

import click

from weishang_core import charts, insight
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit_json, json_option, table
from weishang_core.errors import UserError
from weishang_core.validation import is_ascii_whole


def _rows(funnels: list[insight.Funnel]) -> list[list[str]]:
    return [[str(v) for v in f.as_dict().values()] for f in funnels]


def _tree_lines(nodes: list[insight.TreeNode], depth: int = 0) -> list[str]:
    lines = []
    for node in nodes:
        lines.append(f"{'  ' * depth}{node.name} ({node.role})")
        lines.extend(_tree_lines(node.children, depth + 1))
    return lines


@click.command()
@click.option("--days", "days_text", metavar="N", default="30", show_default=True, help="The window: the last N days.")
@click.option("--svg", "svg_path", type=click.Path(dir_okay=False), help="Also write the charts to this SVG file.")
@json_option
@pass_app
def report(app: AppContext, days_text: str, svg_path: str | None, as_json: bool) -> None:
    """Posts → clicks → orders → revenue → commissions per outlet and per reseller; the referral tree."""
    if not is_ascii_whole(days_text.strip()):
        raise UserError(f"days: {days_text!r} is not a whole number of days")
    days = int(days_text)
    try:
        insight.check_days(days)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with app.transaction() as session:
        figures = insight.report(session, days)
    if svg_path:
        try:
            Path(svg_path).write_text(charts.report_svg(figures), encoding="utf-8")
        except OSError as exc:
            raise UserError(f"svg: cannot write {svg_path!r}: {exc.strerror}") from None
    if as_json:
        emit_json(figures.as_dict())
        return
    headers = ["OUTLET", "POSTS", "CLICKS", "ORDERS", "REVENUE", "COMMISSIONS"]
    click.echo(f"last {days} days, since {figures.since:%Y-%m-%d %H:%M} UTC\n")
    click.echo(table(_rows([*figures.outlets, figures.total]), headers))
    click.echo()
    click.echo(table(_rows(figures.resellers), ["RESELLER", *headers[1:]]) if figures.resellers else "(no resellers)")
    click.echo("\nreferral tree:")
    click.echo("\n".join(_tree_lines(figures.tree)) or "(nobody yet)")
    if svg_path:
        click.echo(f"\ncharts written to {svg_path}", err=True)
