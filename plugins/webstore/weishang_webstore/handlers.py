"""How the store answers what went wrong: one handler for every ``UserError`` (each carries its status).

JSON for the API (a path under ``/api/`` or a client asking for JSON) and for 401/403 everywhere, as the
store always answered them; the friendly page for a browser's 400/404/409. A constraint clash is a 409,
the database away a 503 with ``Retry-After``, a malformed request a 422 naming the field: never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from weishang_core.errors import Conflict, UserError
from weishang_webstore.errors import SignInRequired, SignInToSee
from weishang_webstore.store import store_of

LOG = logging.getLogger("weishang.webstore")


def database_unavailable(exc: Exception) -> JSONResponse | None:
    """The database is restarting or out of connections: say so, and when to try again; never a 500."""
    if not isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        return None
    LOG.warning("database unavailable: %s", type(exc).__name__)
    return JSONResponse({"error": "database: unavailable for a moment; try again"}, 503, {"Retry-After": "2"})


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UserError)
    if isinstance(exc, SignInRequired):
        return RedirectResponse("/console/login", status_code=303)
    if isinstance(exc, SignInToSee):
        return store_of(request).page(request, "signin.html", 401)
    wants_json = request.url.path.startswith("/api/") or "json" in request.headers.get("accept", "")
    if exc.status in (401, 403) or wants_json:
        return JSONResponse({"error": str(exc)}, exc.status)
    return store_of(request).page(request, "error.html", exc.status, message=str(exc))


async def clashed(request: Request, exc: Exception) -> Response:
    """Two requests wrote the same unique thing at once and the database kept the first: a 409."""
    assert isinstance(exc, IntegrityError)
    LOG.warning("write refused by a constraint: %s", type(exc.orig).__name__)
    return await refused(request, Conflict("conflict: another request changed this at the same moment; reload"))


async def database_away(request: Request, exc: Exception) -> Response:
    return database_unavailable(exc)  # type: ignore[return-value]


async def invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": ["body"], "msg": "invalid request"}
    field = ".".join(str(part) for part in first.get("loc", ())[1:]) or "body"
    if first.get("type") == "json_invalid":  # the location is a character position, not a field
        position = first.get("loc", ("body", "?"))[-1]
        return JSONResponse({"error": f"body: not valid JSON (at character {position})"}, 422)
    return JSONResponse({"error": f"{field}: {first.get('msg')}", "details": jsonable(exc.errors())}, 422)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":  # FastAPI's own words
        return JSONResponse({"error": "body: could not be read (not JSON or form data this store accepts)"}, 400)
    return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=getattr(exc, "headers", None))


def jsonable(errors: Any) -> Any:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]


def add_handlers(app: FastAPI) -> None:
    app.add_exception_handler(UserError, refused)
    app.add_exception_handler(IntegrityError, clashed)
    for away in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(away, database_away)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
