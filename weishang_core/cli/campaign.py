"""``weishang campaign …``: pre-sale campaigns (眾籌): sell first, produce for what sold, then ship."""

from __future__ import annotations

import click

from weishang_core import campaigns, settlement
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.money import _now, now_option
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.clock import parse_when
from weishang_core.models import Campaign
from weishang_core.validation import parse_whole


@click.group()
def campaign() -> None:
    """Pre-sale campaigns: a target, a deadline and a cap on what the farm can produce."""


def _line(data: dict) -> str:
    cap = f", {data['sold_qty']}/{data['max_qty']} sold" if data["max_qty"] else f", {data['sold_qty']} sold"
    return (
        f"campaign {data['id']} {data['sku']}: {data['status']}, ¥{data['raised']} of ¥{data['target']} "
        f"({data['percent']}%){cap}, deadline {data['deadline'][:16]}"
    )


def _units(text: str | None, field: str) -> int | None:
    return None if text is None else parse_whole(text, field, 1, 1_000_000, "a whole number of units")


@campaign.command("create")
@click.option("--sku", required=True)
@click.option("--target", required=True, help="Amount to raise in yuan, e.g. 5000.00.")
@click.option("--deadline", required=True, metavar="ISO8601")
@click.option("--min-qty", metavar="N", help="Units that must sell for the campaign to succeed.")
@click.option("--max-qty", metavar="N", help="Units the farm can produce: sales stop there.")
@click.option("--ship-by", metavar="ISO8601")
@now_option
@json_option
@pass_app
def create(app: AppContext, sku, target, deadline, min_qty, max_qty, ship_by, now_text, as_json) -> None:
    """Open a campaign on SKU: its orders are pre-orders until it closes."""
    tz = app.settings.tz
    with app.transaction() as session:
        made = campaigns.create(
            session,
            sku,
            target,
            parse_when(deadline, tz, "deadline"),
            _units(min_qty, "min-qty"),
            _units(max_qty, "max-qty"),
            parse_when(ship_by, tz, "ship-by") if ship_by else None,
            _now(app, now_text),
        )
        data = campaigns.as_dict(session, made)
    emit_json(data) if as_json else click.echo(_line(data))


@campaign.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List campaigns with the amount raised."""
    with app.transaction() as session:
        data = [campaigns.as_dict(session, c) for c in session.query(Campaign).order_by(Campaign.id)]
    rows = [(d["id"], d["sku"], d["status"], d["raised"], d["target"], f"{d['percent']}%", d["deadline"][:16])
            for d in data]  # fmt: skip
    emit(data, as_json, rows, ["ID", "SKU", "STATUS", "RAISED", "TARGET", "%", "DEADLINE"], "(no campaigns)")


@campaign.command("show")
@click.argument("campaign_id")
@json_option
@pass_app
def show(app: AppContext, campaign_id: str, as_json: bool) -> None:
    """Show one campaign."""
    with app.transaction() as session:
        data = campaigns.as_dict(session, campaigns.get(session, campaign_id))
    emit_json(data) if as_json else click.echo(_line(data))


@campaign.command("close")
@click.argument("campaign_id")
@now_option
@json_option
@pass_app
def close(app: AppContext, campaign_id: str, now_text: str | None, as_json: bool) -> None:
    """Close now: fulfilled (its orders can ship) if funded, else failed and everyone refunded."""
    with app.transaction() as session:
        closed = settlement.close_campaign(session, campaigns.get(session, campaign_id), _now(app, now_text))
        data = campaigns.as_dict(session, closed)
    emit_json(data) if as_json else click.echo(_line(data))


@campaign.command("cancel")
@click.argument("campaign_id")
@json_option
@pass_app
def cancel(app: AppContext, campaign_id: str, as_json: bool) -> None:
    """Cancel: every paid pre-order is refunded in full, every commission reversed."""
    with app.transaction() as session:
        data = campaigns.as_dict(session, settlement.cancel_campaign(session, campaigns.get(session, campaign_id)))
    emit_json(data) if as_json else click.echo(_line(data))
