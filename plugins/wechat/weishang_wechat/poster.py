"""The share-kit poster (海報): product photo, title, price, the reseller's name and a QR code.

Pillow's built-in font has no Chinese, so a CJK font is found with fontconfig (Debian's
``fonts-wqy-microhei`` or ``fonts-noto-cjk``); without one the poster is still made, with a warning.
"""

from __future__ import annotations

import io
import subprocess
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from weishang_wechat.images import qr_png

WIDTH, HEIGHT = 1080, 1600
RED, INK, GREY, PAPER = (204, 32, 39), (34, 34, 34), (120, 120, 120), (255, 252, 245)


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    for query in ("sans-serif:lang=zh-cn", "sans-serif:lang=zh-tw"):
        try:
            found = subprocess.run(
                ["fc-match", "-f", "%{file}", query], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if found and any(name in found.lower() for name in ("wqy", "cjk", "droid", "noto", "han", "hei")):
            return found
    return None


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = cjk_font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size)


def wrap(
    draw: ImageDraw.ImageDraw, text: str, face: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, max_lines: int
) -> list[str]:
    lines, line = [], ""
    for char in text:
        if draw.textlength(line + char, font=face) > width:
            lines.append(line)
            line = char.lstrip()
            if len(lines) == max_lines:
                lines[-1] = lines[-1][:-1] + "…"
                return lines
        else:
            line += char
    return lines + ([line] if line else [])


def make_poster(title: str, price: str, poster_name: str, link: str, photo: Path | None) -> bytes:
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(canvas)
    if photo is not None and photo.exists():
        with Image.open(photo) as image:
            canvas.paste(ImageOps.fit(image.convert("RGB"), (WIDTH, 860)), (0, 0))
    else:
        draw.rectangle((0, 0, WIDTH, 860), fill=(236, 240, 228))
    y = 900
    for line in wrap(draw, title, font(64), WIDTH - 120, 2):
        draw.text((60, y), line, font=font(64), fill=INK)
        y += 84
    draw.text((60, y + 10), f"¥{price}", font=font(96), fill=RED)
    draw.text((60, 1340), f"{poster_name} 推薦", font=font(44), fill=INK)
    draw.text((60, 1410), "長按識別二維碼購買", font=font(36), fill=GREY)
    with Image.open(io.BytesIO(qr_png(link, box_size=8))) as code:
        qr = code.convert("RGB").resize((340, 340), Image.Resampling.NEAREST)
    canvas.paste(qr, (WIDTH - 400, HEIGHT - 400))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
