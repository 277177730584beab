"""The seller's own store: the outlet no platform owns."""

from __future__ import annotations

from weishang_core import hookimpl
from weishang_core.channels import Channel, Limits


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


@hookimpl
def register_channels(register):
    register(WebStore())
