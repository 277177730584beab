"""``weishang reseller …``: the people who sell for the seller, and who sponsored whom."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import identities
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.models import Identity


@click.group()
def reseller() -> None:
    """Add and list resellers."""


def _as_dict(session: Session, person: Identity) -> dict[str, Any]:
    direct = session.scalar(select(func.count()).where(Identity.sponsor_id == person.id)) or 0
    return {
        "name": person.handle,
        "sponsor": person.sponsor.handle if person.sponsor else None,
        "depth": person.depth,
        "direct_downline": direct,
        "reseller_since": person.reseller_since.isoformat() if person.reseller_since else None,
    }


@reseller.command("add")
@click.argument("name")
@click.option("--sponsor", help="The reseller (or the seller) who brought them in.")
@json_option
@pass_app
def add(app: AppContext, name: str, sponsor: str | None, as_json: bool) -> None:
    """Make NAME a reseller."""
    with app.transaction() as session:
        data = _as_dict(session, identities.add_reseller(session, name, sponsor))
    if as_json:
        emit_json(data)
    else:
        under = f" under {data['sponsor']}" if data["sponsor"] else ""
        click.echo(f"{data['name']} is now a reseller{under}")


@reseller.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List resellers with their sponsors."""
    with app.transaction() as session:
        data = [_as_dict(session, p) for p in identities.list_resellers(session)]
    rows = [(d["name"], d["sponsor"] or "-", d["depth"], d["direct_downline"]) for d in data]
    emit(data, as_json, rows, ["NAME", "SPONSOR", "DEPTH", "DIRECT DOWNLINE"], "(no resellers)")


@reseller.command("show")
@click.argument("name")
@json_option
@pass_app
def show(app: AppContext, name: str, as_json: bool) -> None:
    """Show one reseller."""
    with app.transaction() as session:
        person = identities.get(session, name)
        if not person.is_reseller:
            raise click.ClickException(f"name: {person.handle!r} is not a reseller")
        data = _as_dict(session, person)
    if as_json:
        emit_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:16} {'-' if value is None else value}")


def register(cli: click.Group) -> None:
    cli.add_command(reseller)
