"""The store's own refusals, beside the core's (``weishang_core.errors``): each carries its HTTP status.

FastAPI-free, like ``console_auth`` and ``signin`` that raise them, so the CLI imports them cheaply. How
each is answered (JSON, a page, a redirect) is ``handlers``'s one decision.
"""

from __future__ import annotations

from weishang_core.errors import Forbidden, Unauthorized


class SignInToSee(Unauthorized):
    """A page of the signed-in person's own, asked for by a browser that is not signed in: the sign-in page."""

    def __init__(self) -> None:
        super().__init__("session: sign in with the link the seller sent you")


class SignInRequired(Unauthorized):
    """No valid console session: the visitor is sent to the console's sign-in page."""

    def __init__(self) -> None:
        super().__init__("session: sign in to the console")


class BadLink(Forbidden):
    """A forged, expired or already used console link."""
