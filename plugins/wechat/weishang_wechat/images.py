"""Images as WeChat takes them: QR codes of referral links, and photos shrunk to the upload limits."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.pil import PilImage


def qr_png(url: str, box_size: int = 10) -> bytes:
    image = qrcode.make(url, image_factory=PilImage, box_size=box_size, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
