"""One-time console forms: the back button or a double tap re-posting a form shows its first result.

Every console form that moves money or stock (a status change, a confirmed refund or exchange, a payout
run) carries a random nonce. Posting it records the nonce in ``form_nonces`` in the same transaction as
the form's effect, with the address the answer sent the browser to; a second post of the same nonce
finds it (after the first commits: the insert waits on the key) and is sent to that address again,
with no second effect. A form whose effect was refused leaves no record, so it can be posted again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData

from weishang_core.errors import UserError
from weishang_core.models import FormNonce

FIELD = "once"
SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new() -> str:
    """A fresh nonce for one form (templates call it once per form)."""
    return secrets.token_urlsafe(16)


def nonce_of(form: FormData) -> str:
    sent = form.get(FIELD)
    if not isinstance(sent, str) or not SHAPE.fullmatch(sent):
        raise UserError(f"{FIELD}: the form has no valid one-time token; reload the page and send it again")
    return sent


def run(maker: sessionmaker[Session], form: FormData, act: Callable[[Session], str]) -> RedirectResponse:
    """Do ``act`` (which returns where to send the browser) once per form nonce, in one transaction."""
    nonce = nonce_of(form)
    with maker() as session:
        try:
            session.add(FormNonce(nonce=nonce))
            session.flush()  # the transaction's first write: a second post of this nonce waits here
        except IntegrityError:
            session.rollback()
            first = session.get(FormNonce, nonce)
            return RedirectResponse(first.result if first and first.result else "/console", status_code=303)
        location = act(session)
        session.get_one(FormNonce, nonce).result = location
        session.commit()
    return RedirectResponse(location, status_code=303)
