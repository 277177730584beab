"""``weishang reseller …``: the people who sell for the seller, and who sponsored whom."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import identities, ledger, referrals, trust
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.models import Identity


@click.group()
def reseller() -> None:
    """Add and list resellers."""


def _as_dict(session: Session, person: Identity, detail: bool = False) -> dict[str, Any]:
    direct = session.scalar(select(func.count()).where(Identity.sponsor_id == person.id)) or 0
    data: dict[str, Any] = {
        "name": person.handle,
        "sponsor": person.sponsor.handle if person.sponsor else None,
        "depth": person.depth,
        "direct_downline": direct,
        "reseller_since": person.reseller_since.isoformat() if person.reseller_since else None,
    }
    if detail:
        score = trust.score(session, person)
        data["downline"] = referrals.downline_size(session, person.id)
        data["trust"] = {"score": score.score, "parts": score.parts, "extra_hold_days": score.extra_hold_days}
        data["balances"] = ledger.balances(session, person.id).as_dict()
    return data


@reseller.command("add")
@click.argument("name")
@click.option("--sponsor", help="The reseller (or the seller) who brought them in.")
@json_option
@pass_app
def add(app: AppContext, name: str, sponsor: str | None, as_json: bool) -> None:
    """Make NAME a reseller.

    Without --sponsor, a buyer with a delivered purchase joins under the reseller they bought through.
    """
    with app.transaction() as session:
        existing = identities.find(session, name)
        if sponsor is None and existing is not None and existing.is_reseller is False and _has_purchase(existing):
            person = referrals.become_reseller(session, existing)
        else:
            person = identities.add_reseller(session, name, sponsor)
        data = _as_dict(session, person)
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
        data = _as_dict(session, person, detail=True)
        explanation = trust.score(session, person).explain()
    if as_json:
        emit_json(data)
        return
    for key in ("name", "sponsor", "depth", "direct_downline", "downline", "reseller_since"):
        click.echo(f"{key:16} {'-' if data[key] is None else data[key]}")
    click.echo(f"{'trust':16} {explanation}")
    hold = data["trust"]["extra_hold_days"]
    click.echo(f"{'extra hold':16} {hold} days after the return window")
    b = data["balances"]
    click.echo(f"{'commissions':16} pending ¥{b['pending']}  available ¥{b['available']}  paid ¥{b['paid']}")


@reseller.command("move")
@click.argument("name")
@click.option("--sponsor", required=True, help="The new sponsor, or '-' for none.")
@pass_app
def move(app: AppContext, name: str, sponsor: str) -> None:
    """Change a reseller's sponsor (audited; a cycle is refused)."""
    with app.transaction() as session:
        person = identities.get(session, name)
        new = None if sponsor == "-" else identities.get(session, sponsor, "sponsor")
        referrals.change_sponsor(session, person, new, actor=identities.seller(session).handle)
    click.echo(f"{name} now sponsored by {sponsor if sponsor != '-' else 'nobody'}")


def _has_purchase(person: Identity) -> bool:
    from sqlalchemy.orm import object_session

    from weishang_core.models import Order

    session = object_session(person)
    assert session is not None
    return (
        session.scalar(select(func.count()).where(Order.buyer_id == person.id, Order.status != "cancelled")) or 0
    ) > 0


def register(cli: click.Group) -> None:
    cli.add_command(reseller)
