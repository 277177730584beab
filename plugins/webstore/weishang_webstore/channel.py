"""Channel ``webstore``: publishing lists the product, so its page ``/p/{sku}`` goes live."""

from __future__ import annotations

from typing import Any

from weishang_core.channels import Account, Channel, Limits, PublishResult
from weishang_core.config import load_settings
from weishang_core.content import Content
from weishang_core.db import get_sessionmaker
from weishang_core.errors import NotFound, PermanentError
from weishang_webstore import listing


class WebStore(Channel):
    name = "webstore"
    display_name = "Own web store (微店)"
    limits = Limits(
        images_max=20,
        image_formats=("jpeg", "png", "gif", "webp"),
        image_max_bytes=10 * 1024 * 1024,
        link_required=False,  # the post is the product page itself
    )
    options = ()
    supports_lookup = True

    def render(self, content: Content) -> dict[str, Any]:
        return {"sku": content.sku, "title": content.title, "link": content.link, "images": []}

    def _page(self, sku: str) -> str:
        return f"{load_settings().store_url}/p/{sku}"

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        settings = load_settings()
        try:
            with get_sessionmaker(settings.database_url).begin() as session:
                product = listing.show(session, payload["sku"], idempotency_key)
        except NotFound as exc:
            raise PermanentError(str(exc)) from None
        return PublishResult(external_id=product.sku, url=self._page(product.sku))

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        with get_sessionmaker(load_settings().database_url)() as session:
            sku = listing.published_by(session, idempotency_key)
        return PublishResult(external_id=sku, url=self._page(sku)) if sku else None

    def check(self, account: Account) -> str:
        return f"the store serves its pages at {load_settings().store_url}"
