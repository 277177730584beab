"""``weishang product …``: the catalogue."""

from __future__ import annotations

import click

from weishang_core import catalog
from weishang_core.catalog import ProductInput
from weishang_core.cli.context import AppContext, pass_app
from weishang_core.cli.output import emit, emit_json, json_option
from weishang_core.money import format_yuan
from weishang_core.statuses import ProductStatus


@click.group()
def product() -> None:
    """Add, change and list products."""


def _product_fields(func):
    for decorator in reversed(
        [
            click.option("--title", help="Title shown on every outlet."),
            click.option("--price", help="Price in yuan, e.g. 39.90."),
            click.option("--stock", help="Units in stock (whole number, 0 or more)."),
            click.option("--image", "images", multiple=True, help="Image file; repeat for more."),
            click.option("--description", help="The material: what to say about the product."),
            click.option("--commission", help="Commission rule, e.g. L1=10%,L2=3% or L1=5.00 per item."),
        ]
    ):
        func = decorator(func)
    return func


def _input(title, price, stock, images, description, commission) -> ProductInput:
    return ProductInput(
        title=title,
        price=price,
        stock=stock,
        description=description,
        images=list(images) if images else None,
        commission=commission,
    )


def _show(data: dict, as_json: bool) -> None:
    if as_json:
        emit_json(data)
        return
    for key, value in data.items():
        click.echo(f"{key:12} {', '.join(value) if isinstance(value, list) else ('' if value is None else value)}")


@product.command("add")
@click.option("--sku", required=True, help="Your product code, e.g. KIWI-RED-5KG.")
@_product_fields
@json_option
@pass_app
def add(app: AppContext, sku, title, price, stock, images, description, commission, as_json) -> None:
    """Add a product to the catalogue."""
    with app.transaction() as session:
        item = catalog.add(session, app.settings, sku, _input(title, price, stock, images, description, commission))
        data = catalog.as_dict(item)
    if as_json:
        emit_json(data)
    else:
        click.echo(f"added {data['sku']}  {data['title']}  ¥{data['price']}  stock {data['stock']}")


@product.command("update")
@click.argument("sku")
@_product_fields
@click.option("--status", type=click.Choice([s.value for s in ProductStatus]), help="Withdraw from sale, or restore.")
@json_option
@pass_app
def update(app: AppContext, sku, title, price, stock, images, description, commission, status, as_json) -> None:
    """Change a product's fields; fields not given stay as they are.

    Posts still queued publish the current material; withdrawing a product cancels its queued posts.
    """
    with app.transaction() as session:
        item = catalog.update(session, app.settings, sku, _input(title, price, stock, images, description, commission))
        if status:
            item.status = status
        data = catalog.as_dict(item)
    _show(data, as_json)


@product.command("list")
@json_option
@pass_app
def list_(app: AppContext, as_json: bool) -> None:
    """List the catalogue."""
    with app.transaction() as session:
        items = catalog.list_all(session)
        data = [catalog.as_dict(p) for p in items]
        rows = [
            (p.sku, p.title, format_yuan(p.price_fen), p.stock, p.commission_rule or "default", p.status) for p in items
        ]
    emit(data, as_json, rows, ["SKU", "TITLE", "PRICE", "STOCK", "COMMISSION", "STATUS"], "(no products)")


@product.command("show")
@click.argument("sku")
@json_option
@pass_app
def show(app: AppContext, sku: str, as_json: bool) -> None:
    """Show one product."""
    with app.transaction() as session:
        data = catalog.as_dict(catalog.get(session, sku))
    _show(data, as_json)


@product.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@pass_app
def import_(app: AppContext, file: str, as_json: bool) -> None:
    """Import products from a CSV file (header: sku,title,price[,stock,description,images,commission]).

    All rows or none: a bad row is named with its field and nothing is imported.
    """
    with app.transaction() as session:
        items = catalog.import_csv(session, app.settings, file)
        data = [catalog.as_dict(p) for p in items]
    if as_json:
        emit_json(data)
    else:
        click.echo(f"imported {len(data)} products: {', '.join(d['sku'] for d in data)}")
