"""``weishang link|order|commissions|settle|payouts``: referrals, orders and the money they make."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from weishang_core import catalog, identities, ledger, order_import, orders, payouts, referrals, settlement
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.clock import parse_when
from weishang_core.errors import UserError
from weishang_core.models import Identity, utcnow
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.statuses import ORDER_ACTIONS, OrderAction


def _now(app: AppContext, text: str | None) -> datetime:
    return parse_when(text, app.settings.tz, "now") if text else utcnow()


now_option = click.option("--now", "now_text", metavar="ISO8601", help="Act as if it were this time (tests, demos).")


@click.group()
def link() -> None:
    """Referral links."""


@link.command("create")
@click.option("--reseller", required=True, help="Whose link it is.")
@click.option("--sku", help="Link to one product (default: the whole store).")
@json_option
@pass_app
def link_create(app: AppContext, reseller: str, sku: str | None, as_json: bool) -> None:
    """Make a referral link and print its URL."""
    with app.transaction() as session:
        person = identities.get(session, reseller, "reseller")
        product = catalog.get(session, sku) if sku else None
        made = referrals.create_link(session, person, product)
        data = {
            "code": made.code,
            "url": referrals.link_url(app.settings, made.code),
            "reseller": person.handle,
            "sku": product.sku if product else None,
        }
    if as_json:
        emit_json(data)
    else:
        click.echo(data["url"])


@link.command("click")
@click.argument("code")
@click.option("--visitor", required=True, help="The visitor's id (the store's cookie).")
@click.option("--outlet", help="Where the click came from (utm_source).")
@now_option
@json_option
@pass_app
def link_click(
    app: AppContext, code: str, visitor: str, outlet: str | None, now_text: str | None, as_json: bool
) -> None:
    """Record a click on a link, as the store's /r/CODE landing does."""
    with app.transaction() as session:
        found = referrals.get_link(session, code)
        made = referrals.record_click(session, app.settings, found, visitor, outlet, now=_now(app, now_text))
        data = {"click_id": made.id, "counted": made.counted}
    if as_json:
        emit_json(data)
    else:
        click.echo(
            f"click {data['click_id']} " + ("counted" if made.counted else "not counted (a repeat within a minute)")
        )


@click.group()
def order() -> None:
    """Place and follow orders: pay, ship, deliver, refund, exchange."""


def _print_order(data: dict, as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    attribution = data["attribution"]
    by = f" via {attribution['referrer']} ({attribution['rule']})" if attribution["referrer"] else ""
    note = f" — no commission: {attribution['no_commission_reason']}" if attribution["no_commission_reason"] else ""
    click.echo(
        f"order {data['id']}  {data['status']}  {data['buyer']}  {data['sku']} x{data['qty']}"
        f"  ¥{data['total']}"
        f"  paid ¥{data['paid']}  refunded ¥{data['refunded']}{by}{note}"
    )


@order.command("create")
@click.option("--sku", required=True)
@click.option("--qty", required=True, help="How many units.")
@click.option("--buyer", required=True, help="The buyer's name; the same name is the same person.")
@click.option("--contact", help="Phone or WeChat id, for delivery.")
@click.option("--ref", help="A referral code the buyer came with.")
@click.option("--visitor", help="The buyer's visitor id (their clicks decide attribution).")
@now_option
@json_option
@pass_app
def order_create(app: AppContext, sku, qty, buyer, contact, ref, visitor, now_text, as_json) -> None:
    """Place an order; stock is reserved at once."""
    with app.transaction() as session:
        made = orders.create(
            session,
            app.settings,
            sku,
            qty,
            buyer,
            contact=contact,
            ref=ref,
            visitor_id=visitor,
            now=_now(app, now_text),
        )
        data = orders.as_dict(session, made)
    _print_order(data, as_json)


@order.command("list")
@click.option("--status", help="Only orders in this state.")
@click.option("--buyer", help="Only this buyer's orders.")
@json_option
@pass_app
def order_list(app: AppContext, status: str | None, buyer: str | None, as_json: bool) -> None:
    """List orders."""
    with app.transaction() as session:
        data = [orders.as_dict(session, o) for o in orders.list_orders(session, status, buyer)]
    rows = [
        (
            d["id"],
            d["status"],
            d["buyer"],
            d["sku"],
            d["qty"],
            d["total"],
            d["refunded"],
            d["attribution"]["referrer"] or "-",
        )
        for d in data
    ]
    emit(
        data,
        as_json,
        rows,
        ["ID", "STATUS", "BUYER", "SKU", "QTY", "TOTAL", "REFUNDED", "REFERRER"],
        "(no orders)",
    )


@order.command("show")
@click.argument("order_id")
@json_option
@pass_app
def order_show(app: AppContext, order_id: str, as_json: bool) -> None:
    """Show one order."""
    with app.transaction() as session:
        data = orders.as_dict(session, orders.get(session, order_id))
    _print_order(data, as_json)


def _transition(action: OrderAction) -> click.Command:
    @order.command(action.name, help=action.help)
    @click.argument("order_id")
    @now_option
    @json_option
    @pass_app
    def command(app: AppContext, order_id: str, now_text: str | None, as_json: bool) -> None:
        with app.transaction() as session:
            found = orders.apply(session, app.settings, orders.get(session, order_id), action.name, _now(app, now_text))
            data = orders.as_dict(session, found)
        _print_order(data, as_json)

    return command


for _action in ORDER_ACTIONS.values():
    _transition(_action)


@order.command("refund")
@click.argument("order_id")
@click.option("--amount", help="Refund this much, in yuan (default: everything left).")
@click.option("--qty", help="Refund this many units.")
@click.option("--sku", help="Which product, on an order of several.")
@click.option("--reason", help="Why (kept with the order).")
@json_option
@pass_app
def order_refund(app: AppContext, order_id, amount, qty, sku, reason, as_json) -> None:
    """Refund all or part of an order; commissions are reversed pro rata."""
    with app.transaction() as session:
        found = orders.get(session, order_id)
        fen = parse_yuan(amount, "amount", allow_zero=False) if amount is not None else None
        orders.refund(session, found, amount_fen=fen, qty=qty, sku=sku, reason=reason)
        data = orders.as_dict(session, found)
    _print_order(data, as_json)


@order.command("exchange")
@click.argument("order_id")
@click.option("--qty", required=True, help="How many units to replace.")
@click.option("--sku", help="Which product, on an order of several.")
@click.option("--reason", help="Why (kept with the order).")
@json_option
@pass_app
def order_exchange(app: AppContext, order_id, qty, sku, reason, as_json) -> None:
    """Replace goods that arrived bad; no money moves."""
    with app.transaction() as session:
        found = orders.get(session, order_id)
        orders.exchange(session, found, qty, sku, reason)
        data = orders.as_dict(session, found)
    _print_order(data, as_json)


@order.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@now_option
@json_option
@pass_app
def order_import_(app: AppContext, file: str, now_text: str | None, as_json: bool) -> None:
    """Import paid orders from a CSV file: orders taken by hand in chats, or another shop's export.

    Header: key,sku,qty,buyer[,contact,ref,paid_at,delivered_at]. KEY is your own order number: rows
    whose key was imported before are skipped, so the same file can be imported again. Every row or
    none: a bad row is named with its field and nothing is imported.
    """
    now = _now(app, now_text)
    rows = order_import.read_csv(file, app.settings, now)
    with app.transaction() as session:
        bar_shown = sys.stderr.isatty()  # a bar on a terminal; nothing in pipes and logs
        with click.progressbar(
            length=len(rows), label="importing orders", file=sys.stderr, hidden=not bar_shown
        ) as bar:
            try:
                done = order_import.import_orders(session, app.settings, rows, now, bar.update)
            except UserError as exc:
                raise UserError(f"{file}: {exc}") from None
        data = {
            "imported": done.orders,
            "skipped": done.skipped,
            "total": format_yuan(done.total_fen),
            "commissions": format_yuan(done.commissions_fen),
        }
    if as_json:
        emit_json(data)
    else:
        click.echo(
            f"imported {data['imported']} orders (¥{data['total']}, commissions ¥{data['commissions']} pending)"
            + (f"; skipped {data['skipped']} imported before" if data["skipped"] else "")
        )


@click.command()
@click.option("--reseller", help="Only this person's entries and balances.")
@json_option
@pass_app
def commissions(app: AppContext, reseller: str | None, as_json: bool) -> None:
    """The commission ledger and the balances derived from it."""
    with app.transaction() as session:
        person_id = identities.get(session, reseller, "reseller").id if reseller else None
        data: dict[str, Any] = {
            "balances": ledger.balances(session, person_id).as_dict(),
            "entries": [ledger.entry_dict(e, h) for e, h in ledger.entries(session, person_id)],
        }
    if as_json:
        emit_json(data)
        return
    rows = [
        (
            e["order_id"],
            e["beneficiary"],
            f"L{e['level']}",
            e["kind"],
            e["amount"],
            e["status"],
            (e["available_at"] or "after delivery")[:16],
        )
        for e in data["entries"]
    ]
    emit(
        data,
        False,
        rows,
        ["ORDER", "BENEFICIARY", "LEVEL", "KIND", "AMOUNT", "STATUS", "AVAILABLE AT"],
        "(no commission entries)",
    )
    b = data["balances"]
    click.echo(f"balances: pending ¥{b['pending']}  available ¥{b['available']}  paid ¥{b['paid']}")


@click.command()
@now_option
@json_option
@pass_app
def settle(app: AppContext, now_text: str | None, as_json: bool) -> None:
    """Release held commissions whose return window (and trust hold) has closed; cancel unpaid orders whose
    hold on their stock expired."""
    with app.transaction() as session:
        data = settlement.settle(session, app.settings, _now(app, now_text))
    if as_json:
        emit_json(data)
    else:
        click.echo(
            f"released {data['released']} commission entries; completed {data['completed']} orders; "
            f"cancelled {data['expired']} unpaid orders whose hold expired"
        )
        if data["campaigns_fulfilled"] or data["campaigns_failed"]:
            click.echo(
                f"campaigns closed: {data['campaigns_fulfilled']} fulfilled, "
                f"{data['campaigns_failed']} failed (their buyers refunded)"
            )


@click.group("payouts")
def payouts_group() -> None:
    """Pay available commissions and export the transfers."""


@payouts_group.command("run")
@click.option("--min", "minimum", default="10.00", show_default=True, help="Pay balances of at least this much.")
@click.option("--method", default="manual", show_default=True, help="Payout method (plugins may add more).")
@json_option
@pass_app
def payouts_run(app: AppContext, minimum: str, method: str, as_json: bool) -> None:
    """Pay every available balance at or above the minimum, once."""
    min_fen = parse_yuan(minimum, "min")
    with app.transaction() as session:
        made = payouts.run(session, min_fen, method)
        data = [payouts.as_dict(p, session.get_one(Identity, p.beneficiary_id)) for p in made]
    rows = [(d["id"], d["beneficiary"], d["amount"], d["reference"]) for d in data]
    emit(data, as_json, rows, ["PAYOUT", "TO", "AMOUNT", "REFERENCE"], "nothing to pay")


@payouts_group.command("list")
@json_option
@pass_app
def payouts_list(app: AppContext, as_json: bool) -> None:
    """List payouts made."""
    with app.transaction() as session:
        data = [payouts.as_dict(p, i) for p, i in payouts.list_all(session)]
    rows = [(d["id"], d["beneficiary"], d["amount"], d["method"], d["created_at"][:16]) for d in data]
    emit(data, as_json, rows, ["PAYOUT", "TO", "AMOUNT", "METHOD", "AT"], "(no payouts)")


@payouts_group.command("export")
@click.option("--csv", "csv_path", required=True, help="Write the payouts to this CSV file.")
@pass_app
def payouts_export(app: AppContext, csv_path: str) -> None:
    """Export payouts as a CSV batch file for the bank or WeChat Pay."""
    with app.transaction() as session:
        count = payouts.export_csv(session, csv_path)
    click.echo(f"wrote {count} payouts to {csv_path}")
