"""Channel ``wechat-share``: groups and Moments, which have no posting API, get a ready share kit.

Publishing writes ``WEISHANG_HOME/share/<key>/``: ``caption.txt`` (material, note, price and link, short
enough to read in Moments without "全文"), the product photos, and ``poster.png`` with a QR code of the
poster's referral link. The seller and every reseller get their own kit per product; the person posts it
by hand, which is what the seed's resellers do with their phones.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from weishang_core.channels import Account, Channel, Limits, PublishResult
from weishang_core.config import load_settings
from weishang_core.content import Content, compose
from weishang_core.errors import PermanentError
from weishang_core.private_files import make_home
from weishang_wechat.poster import cjk_font_path, make_poster


def kit_folder(idempotency_key: str) -> Path:
    return make_home(load_settings()).resolve() / "share" / idempotency_key  # a private home, if made here


class WeChatShareKit(Channel):
    name = "wechat-share"
    display_name = "WeChat groups and Moments (share kit)"
    limits = Limits(
        text_max=300,  # Moments folds text past about six lines behind "全文"; a caption reads at a glance
        images_max=9,  # Moments shows at most nine pictures
        image_formats=("jpeg", "png"),
        link_required=True,
    )
    options = ()
    supports_lookup = True

    def render(self, content: Content) -> dict[str, Any]:
        return {
            "title": content.title,
            "text": compose(content, self.limits),
            "price": content.price,
            "poster": content.poster,
            "link": content.link,
            "images": [str(p) for p in content.images[: self.limits.images_max]],
        }

    def publish(self, account: Account, payload: dict[str, Any], idempotency_key: str) -> PublishResult:
        folder = kit_folder(idempotency_key)
        staging = folder.with_name(folder.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            (staging / "caption.txt").write_text(payload["text"] + "\n", encoding="utf-8")
            photos = [Path(p) for p in payload["images"]]
            for number, photo in enumerate(photos, start=1):
                shutil.copyfile(photo, staging / f"photo-{number}{photo.suffix or '.jpg'}")
            (staging / "poster.png").write_bytes(
                make_poster(
                    payload["title"],
                    payload["price"],
                    payload["poster"],
                    payload["link"],
                    photos[0] if photos else None,
                )
            )
            if cjk_font_path() is None:
                (staging / "WARNING.txt").write_text(
                    "No CJK font was found, so Chinese on the poster may show as boxes: install fonts-wqy-microhei.\n"
                )
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)  # the kit appears whole or not at all
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise PermanentError(f"cannot write the share kit: {exc}") from None
        return PublishResult(external_id=idempotency_key, url=str(folder))

    def lookup(self, account: Account, idempotency_key: str) -> PublishResult | None:
        folder = kit_folder(idempotency_key)
        return PublishResult(external_id=idempotency_key, url=str(folder)) if (folder / "poster.png").exists() else None
