"""Outbound HTTP for channel plugins: one pooled ``requests`` session per thread.

A channel that calls ``requests.post`` opens a new connection (TCP, and TLS for a real outlet) for every
post and the outlet's server starts a new one to answer it; a worker publishing hundreds of posts spends
more on that than on the call. ``session()`` keeps connections to each outlet alive between calls. It is
per thread because a ``requests.Session`` is not documented as thread-safe, and a worker publishes from
many threads.
"""

from __future__ import annotations

import threading

import requests

from weishang_core import __version__

_local = threading.local()


def session() -> requests.Session:
    """This thread's session; it goes (and closes its connections) when the thread ends."""
    current: requests.Session | None = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        current.headers["User-Agent"] = f"weishang/{__version__} {current.headers['User-Agent']}"
        _local.session = current
    return current
