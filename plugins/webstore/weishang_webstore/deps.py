"""What an endpoint of the store or the console may ask for, each an ``Annotated`` dependency.

``SessionDep`` is the request's one transaction; ``SignerDep`` and ``VisitorDep`` the signing key and
this browser; ``SignedInDep``, ``ResellerDep`` (JSON, 401) and ``ResellerPageDep`` (the sign-in page)
the person of the store session; ``StaffDep`` the console's seller or staff member, CSRF checked on
every post. A dependency that reads the database ends its read before it returns (``settled``): the
endpoint runs in another pool thread, and a request parked between two threads must not hold a pooled
connection (the stall ``transactions`` describes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from weishang_core.errors import Forbidden, Unauthorized
from weishang_core.models import Identity, SignInSession
from weishang_webstore import console_auth, signin
from weishang_webstore.cookies import Visitor
from weishang_webstore.errors import SignInToSee
from weishang_webstore.landing import VISITOR
from weishang_webstore.signing import Signer
from weishang_webstore.store import Store, store_of
from weishang_webstore.transactions import request_session

T = TypeVar("T")


async def the_store(request: Request) -> Store:
    return store_of(request)


StoreDep = Annotated[Store, Depends(the_store)]


def db(store: StoreDep) -> Iterator[Session]:
    """One transaction per request. Its scope is the endpoint ("function"): FastAPI's default runs the
    commit after the response is sent, so a 201 could reach the buyer for an order whose commit then
    failed (tests/test_database_outage.py caught one). The signing key is read before the session takes
    its connection (``Store.signer``)."""
    store.signer()
    yield from request_session(store.maker)


SessionDep = Annotated[Session, Depends(db, scope="function")]  # committed before the answer, never after


async def signer(store: StoreDep) -> Signer:
    """The store's signer; only its first use reads the key, in a worker thread."""
    return Signer(store.secret) if store.secret is not None else await run_in_threadpool(store.signer)


SignerDep = Annotated[Signer, Depends(signer)]


async def visitor(request: Request, store: StoreDep, sign: SignerDep) -> Visitor:
    return Visitor(sign, request.cookies.get(VISITOR), store.cookies)


VisitorDep = Annotated[Visitor, Depends(visitor)]


def flush_clicks(store: StoreDep) -> None:
    """This process's latest clicks first: a buyer may click and buy at once. Declared before the session,
    so the click writer's connection is taken and given back before the request's."""
    store.clicks.flush()


ClicksFlushed = Depends(flush_clicks)


def settled(session: Session, found: T) -> T:
    """End a dependency's read (keeping a session's ``last_seen`` touch) before the endpoint's thread."""
    session.commit()
    return found


def signed_in(request: Request, session: SessionDep) -> tuple[SignInSession, Identity]:
    """The signed-in person and their store session, or 401 (also called inside an endpoint)."""
    found = signin.signed_in(session, request)
    if found is None:
        raise Unauthorized("session: sign in with the link the seller sent you, or a code")
    return found


def signed_in_dep(request: Request, session: SessionDep) -> tuple[SignInSession, Identity]:
    return settled(session, signed_in(request, session))


SignedInDep = Annotated[tuple[SignInSession, Identity], Depends(signed_in_dep)]


def signed_in_page(request: Request, session: SessionDep) -> tuple[SignInSession, Identity]:
    """The signed-in person, or the sign-in page (401)."""
    found = signin.signed_in(session, request)
    if found is None:
        raise SignInToSee
    return settled(session, found)


SignedInPageDep = Annotated[tuple[SignInSession, Identity], Depends(signed_in_page)]


def reseller_or_none(request: Request, session: Session) -> Identity | None:
    """The signed-in reseller (a server-side store session), or None."""
    found = signin.signed_in(session, request)
    return found[1] if found is not None and found[1].is_reseller else None


def reseller(request: Request, session: SessionDep) -> Identity:
    """The signed-in reseller, or 401 (also called inside an endpoint's own transaction)."""
    person = reseller_or_none(request, session)
    if person is None:
        raise Unauthorized("session: sign in with the link the seller sent you")
    return person


def reseller_dep(request: Request, session: SessionDep) -> Identity:
    return settled(session, reseller(request, session))


ResellerDep = Annotated[Identity, Depends(reseller_dep)]


def reseller_page(request: Request, session: SessionDep) -> Identity:
    """The signed-in reseller, or the sign-in page (401)."""
    person = reseller_or_none(request, session)
    if person is None:
        raise SignInToSee
    return settled(session, person)


ResellerPageDep = Annotated[Identity, Depends(reseller_page)]


async def form_of(request: Request) -> FormData:
    """The posted form, read on the event loop (Starlette keeps it for the endpoint's own fields)."""
    return await request.form() if request.method != "GET" else FormData()


FormDep = Annotated[FormData, Depends(form_of)]


class Staff:
    """The signed-in seller or staff member, and the CSRF token their forms carry."""

    def __init__(self, person: Identity, csrf: str) -> None:
        self.person, self.csrf = person, csrf


def staff(request: Request, session: SessionDep, form: FormDep, sign: SignerDep) -> Staff:
    """GETs need a console session; every other method also needs the form's CSRF token."""
    cookie = request.cookies.get(console_auth.COOKIE)
    person, csrf = console_auth.current(session, sign, cookie)
    if request.method != "GET":
        sent = form.get("csrf") or request.headers.get("x-csrf-token")
        if not console_auth.check_csrf(session, sign, cookie, sent if isinstance(sent, str) else None):
            raise Forbidden("csrf: the form is stale or was not sent from this console; reload the page")
    return settled(session, Staff(person, csrf))


StaffDep = Annotated[Staff, Depends(staff)]
