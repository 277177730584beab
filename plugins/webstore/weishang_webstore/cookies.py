"""The store's cookies: the visitor's signed id (attribution, CSRF) and the signed-in session's token.

A tampered visitor cookie is ignored, never trusted: the browser gets a fresh id. An HTML form carries a
CSRF token signed for the visitor id, so a post from another site (which cannot read the cookie) fails.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import Response

from weishang_core.errors import Forbidden
from weishang_webstore.landing import VISITOR, YEAR
from weishang_webstore.signin import SESSION, SESSION_AGE
from weishang_webstore.signing import Signer


class Visitor:
    """This browser: ``known`` is the id its cookie proves (None without one), ``id`` that or a new one."""

    def __init__(self, sign: Signer, cookie: str | None, flags: dict[str, Any]) -> None:
        self.sign, self.flags = sign, flags
        self.known = sign.unsign("visitor", cookie, YEAR)
        self.id = self.known or secrets.token_urlsafe(16)

    @property
    def csrf(self) -> str:
        """The token this browser's forms carry."""
        return self.sign.sign("csrf", self.id)

    def check(self, csrf: str) -> str:
        """The visitor posting an HTML form, refused unless the form's CSRF token was made for them."""
        if self.known is None or self.sign.unsign("csrf", csrf, YEAR) != self.known:
            raise Forbidden("csrf: the form is stale or was not sent from this store; reload the page")
        return self.known

    def keep(self, response: Response) -> Response:
        """The visitor cookie on the answer, for a year (so a new id sticks)."""
        response.set_cookie(VISITOR, self.sign.sign("visitor", self.id), max_age=YEAR, **self.flags)
        return response


def with_session(response: Response, token: str, flags: dict[str, Any], visitor: Visitor | None = None) -> Response:
    """The session cookie, and the visitor cookie of a browser that signed in (so it is known as theirs);
    ``flags`` from ``headers.cookie_flags`` (Secure on an https store)."""
    response.set_cookie(SESSION, token, max_age=SESSION_AGE, **flags)
    if visitor is not None:
        visitor.keep(response)
    return response
