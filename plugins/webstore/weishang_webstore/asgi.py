"""The ASGI application for ``uvicorn weishang_webstore.asgi:app`` (and ``weishang serve --workers N``)."""

from weishang_webstore.app import create_app

app = create_app()
