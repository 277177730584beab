"""The sign-in routes: a reseller's link from the seller, one-time codes, signing out, and the person's
own sessions (see ``weishang_webstore.signin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from weishang_core import identities, sessions, signin_codes
from weishang_core.errors import NotFound, Unauthorized
from weishang_webstore import signin
from weishang_webstore.cookies import with_session
from weishang_webstore.deps import SessionDep, SignedInDep, StoreDep, VisitorDep, signed_in
from weishang_webstore.signin import SESSION
from weishang_webstore.transactions import CommitInThread

router = APIRouter(route_class=CommitInThread)


class SigninIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)


class CodeIn(BaseModel):
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)

    @model_validator(mode="after")
    def one_of(self) -> CodeIn:
        if bool(self.phone) == bool(self.email):
            raise ValueError("give either phone or email")
        return self

    def identifier(self) -> tuple[str, str]:
        return ("phone", self.phone) if self.phone else ("email", self.email or "")


class CodeCheckIn(CodeIn):
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


@router.get("/signin")
def signin_link(t: str, request: Request, store: StoreDep, visitor: VisitorDep, session: SessionDep) -> Response:
    """A reseller's sign-in link from the seller: single use, a day at most; no password to leak."""
    person = signin.redeem(session, visitor.sign, t)
    token = signin.begin(session, person, request, visitor.id)
    return with_session(RedirectResponse("/me", status_code=303), token, store.cookies, visitor)


@router.post("/api/signin-link", status_code=202)
def request_signin(data: SigninIn, store: StoreDep, session: SessionDep) -> dict[str, str]:
    """Send a reseller a fresh sign-in link. The answer is the same whoever asks (no enumeration)."""
    person = identities.find(session, data.name)
    if person is not None and person.is_reseller:
        signin.send_signin_link(person.handle or "", signin.magic_link(session, store.settings, person.handle or ""))
    return {"status": "if that reseller exists, a sign-in link is on its way"}


@router.post("/api/signin-code", status_code=202)
def request_code(data: CodeIn, session: SessionDep) -> dict[str, str]:
    """Send a 6-digit code to a phone or email; the same answer whether or not anybody has it."""
    kind, text = data.identifier()
    signin_codes.send(session, kind, text)
    return {"status": f"if that {kind} is known here, a code is on its way; it works for 10 minutes"}


@router.post("/api/signin-code/verify")
def verify_code(
    data: CodeCheckIn, request: Request, store: StoreDep, visitor: VisitorDep, session: SessionDep
) -> Response:
    """A right code signs its owner in: a session token and cookie. A wrong try still counts."""
    kind, text = data.identifier()
    if not signin_codes.check(session, kind, text, data.code):
        return JSONResponse({"error": "code: wrong or expired; ask for a new code"}, 400)  # the try is kept
    person = signin_codes.owner(session, kind, text, visitor.known)
    token = signin.begin(session, person, request, visitor.id)
    body = {"name": person.name, "reseller": person.is_reseller, "token": token}
    return with_session(JSONResponse(body), token, store.cookies, visitor)


def signout_here(session: Session, request: Request) -> None:
    if signin.signed_in(session, request) is None:
        raise Unauthorized("session: you are not signed in")
    sessions.end_token(session, signin.token_of(request), "signed out")


@router.post("/api/signout")
def api_signout(request: Request, store: StoreDep, session: SessionDep) -> Response:
    """End this session on the server; its cookie or token opens nothing any more."""
    signout_here(session, request)
    response = JSONResponse({"status": "signed out"})
    response.delete_cookie(SESSION, **store.cookies)
    return response


@router.post("/signout")
def signout_form(
    request: Request,
    store: StoreDep,
    visitor: VisitorDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    visitor.check(csrf)
    signout_here(session, request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION, **store.cookies)
    return response


@router.get("/api/me/sessions")
def my_sessions(session: SessionDep, found: SignedInDep) -> list[dict[str, Any]]:
    """The signed-in person's live sessions (this one marked ``current``)."""
    here, person = found
    return [sessions.as_dict(row, who, here.id) for row, who in sessions.listed(session, person.id)]


def end_mine(session: Session, request: Request, session_id: int) -> None:
    """Inside the endpoint, not a dependency: a malformed id is a 422 before anything is looked up."""
    _, person = signed_in(request, session)
    if not sessions.end(session, session_id, "ended by its owner", person_id=person.id):
        raise NotFound(f"session: you have no live session {session_id}")


@router.post("/api/me/sessions/{session_id}/end")
def api_end_session(session_id: int, request: Request, session: SessionDep) -> dict[str, Any]:
    """End one of your own sessions (a phone you lost, a shared computer)."""
    end_mine(session, request, session_id)
    return {"ended": session_id}


@router.post("/me/sessions/{session_id}/end")
def end_session_form(
    session_id: int,
    request: Request,
    visitor: VisitorDep,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    visitor.check(csrf)
    end_mine(session, request, session_id)
    return RedirectResponse("/me", status_code=303)
