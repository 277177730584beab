"""The article an Official Account publishes: the material, the note, and the link as a QR code.

Article bodies may carry no outside links and outside image URLs are stripped (§1.3), so every image
comes from ``media/uploadimg`` and the referral link goes to ``content_source_url`` (阅读原文), with a QR
code of it in the body. A marker with the idempotency key lets ``lookup`` find the article again.
"""

from __future__ import annotations

from html import escape

TITLE_MAX = 32  # §1.3
AUTHOR_MAX = 16  # §1.3
DIGEST_MAX = 128  # §1.3


def marker(idempotency_key: str) -> str:
    return f"weishang:{idempotency_key}"


def html(payload: dict, image_urls: list[str], qr_url: str, idempotency_key: str) -> str:
    paragraphs = [f"<p>{escape(line)}</p>" for line in payload["body"].splitlines() if line.strip()]
    note = payload.get("note")
    parts = []
    if note:
        parts.append(f"<blockquote><p>{escape(note)}</p><p>—— {escape(payload['poster'])}</p></blockquote>")
    parts += paragraphs
    parts += [f'<p><img src="{escape(url)}" /></p>' for url in image_urls]
    parts.append(f"<p><strong>¥{escape(payload['price'])}</strong></p>")
    parts.append(f'<p style="text-align:center"><img src="{escape(qr_url)}" /></p>')
    parts.append('<p style="text-align:center">長按識別二維碼，或點擊下方「閱讀原文」購買</p>')
    parts.append(f'<p style="color:#bbbbbb;font-size:10px">{marker(idempotency_key)}</p>')
    return "\n".join(parts)
