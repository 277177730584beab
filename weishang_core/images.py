"""Product photos shrunk and converted to what an outlet's upload accepts; a helper for channel plugins."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def fit_for_upload(path: str | Path, max_bytes: int, formats: tuple[str, ...] = ("JPEG", "PNG")) -> tuple[bytes, str]:
    """The image as JPEG or PNG under ``max_bytes``: converted to JPEG and shrunk when needed."""
    raw = Path(path).read_bytes()
    with Image.open(io.BytesIO(raw)) as image:
        if image.format in formats and len(raw) < max_bytes:
            return raw, image.format.lower()
        picture = image.convert("RGB")
    quality, scale = 90, 1.0
    while True:
        size = (max(1, int(picture.width * scale)), max(1, int(picture.height * scale)))
        buffer = io.BytesIO()
        picture.resize(size).save(buffer, format="JPEG", quality=quality)
        if buffer.tell() < max_bytes or (scale < 0.05):
            return buffer.getvalue(), "jpeg"
        quality, scale = max(50, quality - 10), scale * 0.8
