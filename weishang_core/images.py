"""Product photos shrunk and converted to what an outlet's upload accepts; a helper for channel plugins."""

from __future__ import annotations

import io
import warnings
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


MAX_SIDE = 1600
MAX_PIXELS = 60_000_000  # below Pillow's own bomb limits (89 million warns, twice that raises)


def check_readable(data: bytes) -> None:
    """Raise ``ValueError`` unless the bytes decode as a whole image (a right header is not enough).

    A small file may claim billions of pixels (a decompression bomb): Pillow warns past its limit and
    raises past twice that as it opens the file, with an error of its own that is no ``OSError`` (it was a
    500); both are refused here like any picture past ``MAX_PIXELS``, and the warning is not printed."""
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # not thread-safe before Python 3.14; it only ever adds this filter
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(f"{image.width}×{image.height} pixels is too large a picture")
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"too large a picture (more than {MAX_PIXELS:,} pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"not a readable image ({exc.__class__.__name__})") from None


def normalise_photo(data: bytes, max_side: int = MAX_SIDE) -> bytes:
    """A phone photo made fit for every outlet: upright (EXIF), at most ``max_side`` pixels, JPEG.

    Raises ``ValueError`` naming the problem when the bytes are not a readable image.
    """
    from PIL import ImageOps

    check_readable(data)  # truncated, corrupt or absurdly large pictures are refused before any work
    with Image.open(io.BytesIO(data)) as image:
        picture = ImageOps.exif_transpose(image).convert("RGB")
    picture.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85, optimize=True)
    return buffer.getvalue()
