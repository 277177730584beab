"""The errors users see, and the ones channels raise so the core can decide retries uniformly.

A user error carries the HTTP status it answers with (``status``), so the web layer has one handler for
all of them and a new kind of refusal needs no new handler (datasette's ``Base400``).
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an impossible request: shown as one line (CLI exit 1, HTTP 4xx), never a traceback."""

    status = 400


class NotFound(UserError):
    """A named thing (SKU, handle, account, order) does not exist."""

    status = 404


class Conflict(UserError):
    """The request met the order, payout or form in a state another request just left it in (a double tap,
    two tabs, two processes): HTTP 409, one line on the CLI. Repeating it is refused again; nothing changed."""

    status = 409


class Unauthorized(UserError):
    """Nobody is signed in (or their session ended): HTTP 401."""

    status = 401


class Forbidden(UserError):
    """Signed in or not, this may not be done: a form without its CSRF token, a forged or spent link; 403."""

    status = 403


class ChannelError(Exception):
    """Base of what a channel raises; ``code`` and ``message`` are the outlet's own."""

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}" if self.code is not None else self.message


class TransientError(ChannelError):
    """The outlet hiccupped (5xx, busy, timeout): retry with backoff."""


class UnknownOutcome(TransientError):
    """The request may have reached the outlet (a timeout, a dropped reply): look it up before retrying."""


class RateLimited(ChannelError):
    """The outlet's quota is spent: retry no sooner than ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 60.0, code: str | int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class AuthExpired(ChannelError):
    """The credentials stopped working: refresh once, then fail with how to reconnect."""


class PermanentError(ChannelError):
    """The outlet refused for a reason a retry cannot fix."""
