"""Which products the store shows: publishing to the ``webstore`` channel lists a product, hiding unlists it.

The list is kept as store settings (``webstore_listed:<product id>``) in the core's database, so every server
process sees the same store without a table of the plugin's own.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import catalog
from weishang_core.models import Product, StoreSetting
from weishang_core.statuses import ProductStatus

PREFIX = "webstore_listed:"
POSTED = "webstore_post:"


def is_listed(session: Session, product: Product) -> bool:
    return product.status == ProductStatus.ACTIVE and session.get(StoreSetting, PREFIX + str(product.id)) is not None


def listed_product(session: Session, sku: str) -> Product | None:
    product = catalog.find(session, sku)
    return product if product is not None and is_listed(session, product) else None


def list_products(session: Session) -> list[Product]:
    keys = session.scalars(select(StoreSetting.key).where(StoreSetting.key.startswith(PREFIX)))
    ids = [int(key.removeprefix(PREFIX)) for key in keys]
    query = select(Product).where(Product.id.in_(ids), Product.status == ProductStatus.ACTIVE).order_by(Product.id)
    return list(session.scalars(query))


def show(session: Session, sku: str, idempotency_key: str | None = None) -> Product:
    """List the product; remember which post did it, so a retry after a lost reply can find it."""
    product = catalog.get(session, sku)
    session.merge(StoreSetting(key=PREFIX + str(product.id), value=product.sku))
    if idempotency_key:
        session.merge(StoreSetting(key=POSTED + idempotency_key[:40], value=product.sku))
    return product


def published_by(session: Session, idempotency_key: str) -> str | None:
    row = session.get(StoreSetting, POSTED + idempotency_key[:40])
    return row.value if row is not None else None


def hide(session: Session, sku: str) -> bool:
    row = session.get(StoreSetting, PREFIX + str(catalog.get(session, sku).id))
    if row is not None:
        session.delete(row)
    return row is not None
