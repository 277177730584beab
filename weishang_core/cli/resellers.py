"""``weishang reseller …``: the people who sell for the seller, and who sponsored whom."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from weishang_core import identifiers, identities, ledger, orders, referrals, trust
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.errors import UserError
from weishang_core.models import Identity, Order


@click.group()
def reseller() -> None:
    """Add and list resellers."""


def _as_dict(session: Session, person: Identity, detail: bool = False) -> dict[str, Any]:
    direct = session.scalar(select(func.count()).where(Identity.sponsor_id == person.id)) or 0
    data: dict[str, Any] = {
        "name": person.handle,
        "display_name": person.display_name,
        "sponsor": person.sponsor.handle if person.sponsor else None,
        "depth": person.depth,
        "direct_downline": direct,
        "reseller_since": person.reseller_since.isoformat() if person.reseller_since else None,
        "identifiers": identifiers.shown(identifiers.of(session, person.id)),  # masked: see docs/security
    }
    if detail:
        score = trust.score(session, person)
        data["downline"] = referrals.downline_size(session, person.id)
        data["trust"] = {"score": score.score, "parts": score.parts, "extra_hold_days": score.extra_hold_days}
        data["balances"] = ledger.balances(session, person.id).as_dict()
    return data


phone_option = click.option("--phone", help="Their mobile number (+86… or 138…); stored as verified: you vouch.")
email_option = click.option("--email", help="Their email; stored as verified: you vouch for it.")


@reseller.command("add")
@click.argument("name")
@click.option("--sponsor", help="The reseller (or the seller) who brought them in.")
@click.option("--order", "order_id", help="Make the buyer of this delivered order the reseller NAME.")
@phone_option
@email_option
@json_option
@pass_app
def add(
    app: AppContext,
    name: str,
    sponsor: str | None,
    order_id: str | None,
    phone: str | None,
    email: str | None,
    as_json: bool,
) -> None:
    """Make NAME a reseller.

    A buyer of that name (or the buyer of --order) with a delivered purchase joins under the reseller
    they bought through, unless --sponsor says otherwise; two buyers of one name need --order.
    """
    with app.transaction() as session:
        purchase = orders.get(session, order_id) if order_id else None
        person = session.get_one(Identity, purchase.buyer_id) if purchase else _buyer_named(session, name)
        if sponsor is None and person is not None and not person.is_reseller and (purchase or _ordered(person)):
            purchase = purchase or referrals.first_qualifying(session, person)
            if purchase is None:
                raise UserError(
                    f"name: {name!r} has no delivered purchase yet; resellers are buyers who liked what they got"
                )
            person = referrals.become_reseller(session, purchase, None if person.handle else name)
        else:
            if person is None:
                person = identities.get_or_create(session, name)
            identities.give_handle(session, person, None if person.handle else name)
            upline = identities.get(session, sponsor, "sponsor") if sponsor else None
            person = identities.make_reseller(session, person, upline)
        identities.vouch(session, person, phone, email)
        data = _as_dict(session, person)
    if as_json:
        emit_json(data)
    else:
        under = f" under {data['sponsor']}" if data["sponsor"] else ""
        click.echo(f"{data['name']} is now a reseller{under}")


def _ordered(person: Identity) -> bool:
    session = object_session(person)
    assert session is not None
    return (
        session.scalar(select(func.count()).where(Order.buyer_id == person.id, Order.status != "cancelled")) or 0
    ) > 0


def _buyer_named(session: Session, name: str) -> Identity | None:
    """The person NAME means to the seller: their handle, else the one buyer of that name who ordered."""
    person = identities.find(session, name)
    if person is not None:
        return person
    ids = identities.matching(session, name)
    buyers = [i for i in ids if session.scalar(select(func.count()).where(Order.buyer_id == i)) or 0]
    if len(buyers) > 1:
        numbers = session.scalars(select(Order.id).where(Order.buyer_id.in_(buyers)).order_by(Order.id)).all()
        raise UserError(
            f"name: {len(buyers)} buyers are called {name!r} (orders {', '.join(map(str, numbers[:10]))}); "
            "say whose with --order ID"
        )
    return session.get(Identity, buyers[0]) if buyers else None


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
        referrals.change_sponsor(session, person, new, actor=identities.seller(session).name)
    click.echo(f"{name} now sponsored by {sponsor if sponsor != '-' else 'nobody'}")
