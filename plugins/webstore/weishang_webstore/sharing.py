"""A reseller's share kit on the web: per product, a caption ready to paste and a QR code of their link.

The caption is the seller's material composed by the core (title, description, price, link) within
Moments' practical length; the QR code is drawn on request. The full WeChat share kit with a poster
comes from the ``wechat-share`` channel when the reseller distributes to such an account.
"""

from __future__ import annotations

import io
from typing import Any

import qrcode
from qrcode.image.pil import PilImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weishang_core import referrals
from weishang_core.channels import Limits
from weishang_core.config import Settings
from weishang_core.content import Content, compose
from weishang_core.models import Identity, OutletAccount
from weishang_webstore import listing

CAPTION = Limits(text_max=300)


def kits(session: Session, settings: Settings, person: Identity) -> list[dict[str, Any]]:
    """One kit per product on sale; the reseller's per-product link is made on first use."""
    found = []
    for product in listing.list_products(session):
        link = referrals.link_for(session, person, product)
        url = referrals.link_url(settings, link.code)
        content = Content(product.sku, product.title, product.description, product.price_fen, url, person.name)
        found.append({"sku": product.sku, "title": product.title, "link": url, "code": link.code,
                      "caption": compose(content, CAPTION), "qr": f"/qr/{link.code}.png"})  # fmt: skip
    return found


def outlet_count(session: Session, person: Identity) -> int:
    return session.scalar(select(func.count()).where(OutletAccount.owner_id == person.id)) or 0


def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(url, image_factory=PilImage, box_size=8, border=2).save(buffer, format="PNG")
    return buffer.getvalue()
