"""The images the store serves: product photos from ``WEISHANG_HOME/media`` and referral QR codes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from weishang_core import referrals
from weishang_core.errors import NotFound
from weishang_webstore import sharing
from weishang_webstore.deps import SessionDep, StoreDep
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


@router.get("/media/{name}")
def media(name: str, store: StoreDep) -> FileResponse:
    folder = (store.settings.home / "media").resolve()
    path = (store.settings.home / "media" / name).resolve()
    if path.parent != folder or not path.is_file():
        raise NotFound(f"image: no image {name!r}")
    return FileResponse(path)


@router.get("/qr/{code}.png")
def qr(code: str, session: SessionDep, store: StoreDep) -> Response:
    link = referrals.find_link(session, code) if len(code) <= 32 else None
    if link is None:
        raise NotFound(f"code: no referral link {code!r}")
    png = sharing.qr_png(referrals.link_url(store.settings, link.code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
