"""Signing in to the store: single-use links, one-time codes, and sessions their owner can see and end.

A store session lives on the server (``weishang_core.sessions``, purpose ``store``); its cookie (or a
``Bearer`` header, for the JSON API) carries only a random token. The seller's sign-in link for a
reseller works once, within a day; a returning buyer or reseller on another phone asks for a code sent
to a phone or email they proved (or the seller vouched for). Signing in on a browser also tells the
store who that browser is, so its next checkout is theirs (``identities.link_visitor``).
"""

import logging
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from weishang_core import identities, sessions, signin_codes
from weishang_core.config import Settings
from weishang_core.errors import NotFound, UserError
from weishang_core.models import Identity, SignInSession
from weishang_webstore.console_auth import spend
from weishang_webstore.headers import cookie_flags
from weishang_webstore.landing import VISITOR, YEAR
from weishang_webstore.signing import Signer, store_secret

SESSION = "ws_session"
SESSION_AGE = int(sessions.AGES[sessions.STORE].total_seconds())  # the cookie's; the server's row decides
MAGIC_AGE = 24 * 3600
LOG = logging.getLogger("weishang.webstore")


class Forbidden(Exception):
    """A post without a valid CSRF token, or a bad sign-in link: 403."""


class Unauthorized(Exception):
    """Not signed in: 401."""


class SigninIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)


class CodeIn(BaseModel):
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)

    @model_validator(mode="after")
    def one_of(self) -> "CodeIn":
        if bool(self.phone) == bool(self.email):
            raise ValueError("give either phone or email")
        return self

    def identifier(self) -> tuple[str, str]:
        return ("phone", self.phone) if self.phone else ("email", self.email or "")


class CodeCheckIn(CodeIn):
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


def token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else request.cookies.get(SESSION)


def signed_in(session: Session, request: Request) -> tuple[SignInSession, Identity] | None:
    """The live store session of this request and its person, or None."""
    row = sessions.current(session, token_of(request), sessions.STORE)
    person = session.get(Identity, row.identity_id) if row is not None else None
    return (row, person) if row is not None and person is not None else None


def begin(session: Session, person: Identity, request: Request, visitor: str | None) -> str:
    """Start a store session for someone who just proved who they are on this browser; its token."""
    _, token = sessions.start(session, person, sessions.STORE, request.headers.get("user-agent"))
    if visitor:
        identities.link_visitor(session, visitor, person)
    return token


def with_cookie(
    response: Response, token: str, visitor: tuple[Signer, str] | None = None, *, flags: dict[str, Any]
) -> Response:
    """The session cookie, and the visitor cookie of a browser that had none (so it is known as theirs);
    ``flags`` from ``headers.cookie_flags`` (Secure on an https store)."""
    response.set_cookie(SESSION, token, max_age=SESSION_AGE, **flags)
    if visitor is not None:
        sign, visitor_id = visitor
        response.set_cookie(VISITOR, sign.sign("visitor", visitor_id), max_age=YEAR, **flags)
    return response


def magic_link(session: Session, settings: Settings, handle: str) -> str:
    """A sign-in link for a reseller: it works once, within a day (the default sender logs it)."""
    person = identities.get(session, handle, "name")
    if not person.is_reseller:
        raise UserError(f"name: {handle!r} is not a reseller")
    token = Signer(store_secret(session)).sign("magic", f"{person.id}:{secrets.token_urlsafe(16)}")
    return f"{settings.store_url}/signin?t={token}"


def send_signin_link(handle: str, link: str) -> None:
    """The default sender writes the link to the server log, for the seller to pass on by hand."""
    LOG.warning("sign-in link for %s: %s", handle, link)


def redeem(session: Session, sign: Signer, token: str) -> Identity:
    """Spend a reseller's sign-in link: the person, or Forbidden (forged, expired or used)."""
    payload = sign.unsign("magic", token, MAGIC_AGE)
    person_id, _, nonce = (payload or "").partition(":")
    person = session.get(Identity, int(person_id)) if person_id.isdigit() and nonce else None
    if person is None or not person.is_reseller:
        raise Forbidden("token: this sign-in link is invalid or has expired; ask for a new one")
    if not spend(session, f"magic:{nonce}"):
        raise Forbidden("token: this sign-in link has been used already; ask for a new one")
    return person


def add_signin(
    app: FastAPI,
    settings: Settings,
    signer: Callable[[Session], Signer],
    db: Any,
    visitor_of: Callable[[Request, Signer], str | None],
    checked_visitor: Callable[[Request, Session, str], str],
) -> None:
    """The sign-in routes, on the store's app (``db`` is its per-request session dependency)."""
    DB = db
    flags = cookie_flags(settings.store_url)

    @app.get("/signin")
    def signin(t: str, request: Request, session: DB) -> Response:
        """A reseller's sign-in link from the seller: single use, a day at most; no password to leak."""
        sign = signer(session)
        person = redeem(session, sign, t)
        visitor = visitor_of(request, sign) or secrets.token_urlsafe(16)
        token = begin(session, person, request, visitor)
        return with_cookie(RedirectResponse("/me", status_code=303), token, (sign, visitor), flags=flags)

    @app.post("/api/signin-link", status_code=202)
    def request_signin(data: SigninIn, session: DB) -> dict[str, str]:
        """Send a reseller a fresh sign-in link. The answer is the same whoever asks (no enumeration)."""
        person = identities.find(session, data.name)
        if person is not None and person.is_reseller:
            send_signin_link(person.handle or "", magic_link(session, settings, person.handle or ""))
        return {"status": "if that reseller exists, a sign-in link is on its way"}

    @app.post("/api/signin-code", status_code=202)
    def request_code(data: CodeIn, session: DB) -> dict[str, str]:
        """Send a 6-digit code to a phone or email; the same answer whether or not anybody has it."""
        kind, text = data.identifier()
        signin_codes.send(session, kind, text)
        return {"status": f"if that {kind} is known here, a code is on its way; it works for 10 minutes"}

    @app.post("/api/signin-code/verify")
    def verify_code(data: CodeCheckIn, request: Request, session: DB) -> Response:
        """A right code signs its owner in: a session token and cookie. A wrong try still counts."""
        kind, text = data.identifier()
        if not signin_codes.check(session, kind, text, data.code):
            return JSONResponse({"error": "code: wrong or expired; ask for a new code"}, 400)  # the try is kept
        sign = signer(session)
        visitor = visitor_of(request, sign)
        person = signin_codes.owner(session, kind, text, visitor)
        visitor = visitor or secrets.token_urlsafe(16)
        token = begin(session, person, request, visitor)
        body = {"name": person.name, "reseller": person.is_reseller, "token": token}
        return with_cookie(JSONResponse(body), token, (sign, visitor), flags=flags)

    def signout_here(session: Session, request: Request) -> None:
        if signed_in(session, request) is None:
            raise Unauthorized("session: you are not signed in")
        sessions.end_token(session, token_of(request), "signed out")

    @app.post("/api/signout")
    def api_signout(request: Request, session: DB) -> Response:
        """End this session on the server; its cookie or token opens nothing any more."""
        signout_here(session, request)
        response = JSONResponse({"status": "signed out"})
        response.delete_cookie(SESSION, **flags)
        return response

    @app.post("/signout")
    def signout_form(request: Request, session: DB, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
        checked_visitor(request, session, csrf)
        signout_here(session, request)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION, **flags)
        return response

    def mine(session: Session, request: Request) -> tuple[SignInSession, Identity]:
        found = signed_in(session, request)
        if found is None:
            raise Unauthorized("session: sign in with the link the seller sent you, or a code")
        return found

    @app.get("/api/me/sessions")
    def my_sessions(request: Request, session: DB) -> list[dict[str, Any]]:
        """The signed-in person's live sessions (this one marked ``current``)."""
        here, person = mine(session, request)
        return [sessions.as_dict(row, who, here.id) for row, who in sessions.listed(session, person.id)]

    def end_mine(session: Session, request: Request, session_id: int) -> None:
        _, person = mine(session, request)
        if not sessions.end(session, session_id, "ended by its owner", person_id=person.id):
            raise NotFound(f"session: you have no live session {session_id}")

    @app.post("/api/me/sessions/{session_id}/end")
    def api_end_session(session_id: int, request: Request, session: DB) -> dict[str, Any]:
        """End one of your own sessions (a phone you lost, a shared computer)."""
        end_mine(session, request, session_id)
        return {"ended": session_id}

    @app.post("/me/sessions/{session_id}/end")
    def end_session_form(
        session_id: int, request: Request, session: DB, csrf: Annotated[str, Form(max_length=200)] = ""
    ) -> RedirectResponse:
        checked_visitor(request, session, csrf)
        end_mine(session, request, session_id)
        return RedirectResponse("/me", status_code=303)


def sessions_shown(session: Session, request: Request) -> list[dict[str, Any]]:
    """For the /me page: the person's live sessions."""
    found = signed_in(session, request)
    if found is None:
        return []
    here, person = found
    return [sessions.as_dict(row, who, here.id) for row, who in sessions.listed(session, person.id)]
