"""The ASGI application for ``uvicorn weishang_webstore.asgi:app`` (and ``weishang serve --workers N``)."""

import gc

from weishang_webstore.app import create_app

app = create_app()
# Everything built so far lives as long as the process: keep it out of the collector's full passes, which
# otherwise walk it every time, and collect the young generation every 50,000 allocations instead of 700
# (a request allocates hundreds). Measured in bench/README.md (viral_landing).
gc.freeze()
gc.set_threshold(50_000, 20, 20)
