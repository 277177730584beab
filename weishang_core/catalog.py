"""Products: the seller's material (title, description, images, facts), price, stock, commission rule."""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from weishang_core import identities
from weishang_core.commission_rules import format_rule, parse_rule
from weishang_core.config import Settings
from weishang_core.csv_input import read_rows
from weishang_core.errors import NotFound, UserError
from weishang_core.images import check_readable
from weishang_core.models import Product, utcnow
from weishang_core.money import format_yuan, parse_yuan
from weishang_core.private_files import make_folder, make_home

_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_IMAGE_MAGIC = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png", b"GIF87a": "gif", b"GIF89a": "gif"}
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_STOCK = 10_000_000


@dataclass
class ProductInput:
    """Fields as the user typed them; ``None`` means "not given" (keep the stored value on update)."""

    title: str | None = None
    price: str | None = None
    stock: str | int | None = None
    description: str | None = None
    images: list[str] | None = None
    commission: str | None = None


def check_sku(sku: str) -> str:
    if not isinstance(sku, str) or not _SKU.fullmatch(sku.strip()):
        raise UserError(f"sku: {sku!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return sku.strip()


def check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise UserError("title: must not be empty")
    if len(title) > 200:
        raise UserError(f"title: {len(title)} characters; at most 200")
    return title


def check_stock(value: str | int) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"-?[0-9]{1,30}", text):
        raise UserError(f"stock: {value!r} is not a whole number")
    stock = int(text)
    if stock < 0:
        raise UserError(f"stock: {stock} is negative; stock is 0 or more")
    if stock > MAX_STOCK:
        raise UserError(f"stock: {stock} is more than {MAX_STOCK}")
    return stock


def image_kind(data: bytes) -> str | None:
    for magic, kind in _IMAGE_MAGIC.items():
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def store_image(settings: Settings, path: str) -> str:
    """Copy an image into ``WEISHANG_HOME/media`` under its content hash; return the stored file name."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise UserError(f"image: {path!r} is not a file")
    data = source.read_bytes()
    if len(data) > MAX_IMAGE_BYTES:
        raise UserError(f"image: {path!r} is larger than 20 MB")
    kind = image_kind(data)
    if kind is None:
        raise UserError(f"image: {path!r} is not a JPEG, PNG, GIF or WebP image")
    try:
        check_readable(data)
    except ValueError as exc:
        raise UserError(f"image: {path!r}: {exc}") from None
    name = f"{hashlib.sha256(data).hexdigest()[:20]}.{'jpg' if kind == 'jpeg' else kind}"
    target = settings.home / "media" / name
    if not target.exists():
        make_folder(make_home(settings) / "media")
        shutil.copyfile(source, target)
    return name


def store_photo(settings: Settings, data: bytes, filename: str = "photo") -> str:
    """Keep an uploaded photo (the console's file field): checked, made upright, resized, stored as JPEG."""
    from weishang_core.images import normalise_photo

    if not data:
        raise UserError(f"photo: {filename!r} is empty")
    if len(data) > settings.max_upload_bytes:
        raise UserError(f"photo: {filename!r} is larger than the upload limit of {settings.max_upload_bytes} bytes")
    if image_kind(data) is None:
        raise UserError(f"photo: {filename!r} is not a JPEG, PNG, GIF or WebP image")
    try:
        jpeg = normalise_photo(data)
    except ValueError as exc:
        raise UserError(f"photo: {filename!r}: {exc}") from None
    name = f"{hashlib.sha256(jpeg).hexdigest()[:20]}.jpg"
    target = settings.home / "media" / name
    if not target.exists():
        make_folder(make_home(settings) / "media")
        target.write_bytes(jpeg)
    return name


def find(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku))


def get(session: Session, sku: str) -> Product:
    product = find(session, check_sku(sku))
    if product is None:
        raise NotFound(f"sku: no product {sku!r}")
    return product


def _apply(product: Product, data: ProductInput, settings: Settings, session: Session) -> None:
    if data.title is not None:
        product.title = check_title(data.title)
    if data.price is not None:
        product.price_fen = parse_yuan(data.price, "price", allow_zero=False)
    if data.stock is not None:
        product.stock = check_stock(data.stock)
    if data.description is not None:
        if len(data.description) > 20_000:
            raise UserError("description: longer than 20,000 characters")
        product.description = data.description
    if data.images is not None:
        product.images = [store_image(settings, p) for p in data.images]
    if data.commission is not None:
        rule = data.commission.strip()
        product.commission_rule = (
            format_rule(parse_rule(rule, settings.max_commission_levels, settings.compliance)) if rule else None
        )


def add(session: Session, settings: Settings, sku: str, data: ProductInput) -> Product:
    sku = check_sku(sku)
    if find(session, sku) is not None:
        raise UserError(f"sku: {sku!r} already exists (use `product update`)")
    if data.title is None or data.price is None:
        raise UserError("title and price are required for a new product")
    product = Product(sku=sku, title="", price_fen=0, stock=0, images=[], facts={})
    _apply(product, data, settings, session)
    product.seller_id = identities.seller(session).id
    session.add(product)
    session.flush()
    return product


def update(session: Session, settings: Settings, sku: str, data: ProductInput) -> Product:
    product = get(session, sku)
    _apply(product, data, settings, session)
    product.updated_at = utcnow()
    session.flush()
    return product


def list_all(session: Session) -> list[Product]:
    return list(session.scalars(select(Product).order_by(Product.id)))


CSV_REQUIRED = ("sku", "title", "price")
CSV_OPTIONAL = ("stock", "description", "images", "commission")


def import_csv(session: Session, settings: Settings, path: str) -> list[Product]:
    """Import every row or none: the first bad row is named with its field, and nothing is written."""
    folder = Path(path).parent
    products: list[Product] = []
    seen: set[str] = set()
    for row_number, row in read_rows(path, CSV_REQUIRED, CSV_OPTIONAL):
        try:
            sku = check_sku(row["sku"])
            if sku in seen:
                raise UserError(f"sku: {sku!r} appears twice in the file")
            seen.add(sku)
            data = ProductInput(
                title=row["title"],
                price=row["price"],
                stock=row.get("stock") or None,
                description=row.get("description") or None,
                images=[str(folder / p) for p in row.get("images", "").split(";") if p] or None,
                commission=row.get("commission") or None,
            )
            products.append(add(session, settings, sku, data))
        except UserError as exc:
            raise UserError(f"{path}: row {row_number}: {exc}") from None
    return products


def as_dict(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "price": format_yuan(product.price_fen),
        "stock": product.stock,
        "description": product.description,
        "images": list(product.images),
        "commission": product.commission_rule,
        "status": product.status,
    }
