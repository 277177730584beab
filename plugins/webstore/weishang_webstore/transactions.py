"""One transaction per request, committed by the thread that did the work, before the answer is built.

FastAPI closes a dependency's transaction only after it has validated the endpoint's return value, and it
validates in the shared thread pool. Under a hot row (a product's stock, taken by every checkout) that
was a deadlock: every pool thread waited on the row, held by a transaction waiting for a thread to
finish its answer in — until the connection pool timed out and the store answered 503 for seconds. Here
a sync endpoint's own thread commits the sessions it was given as soon as it returns; the dependency
then only closes them. An endpoint that raises is rolled back when its dependency closes the session.
A plugin's route without this class still has its work committed, by the dependency, after the endpoint.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker


def committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync endpoint so it commits every Session argument before returning."""
    if inspect.iscoroutinefunction(endpoint) or getattr(endpoint, "commits", False):
        return endpoint  # a router included in the app already wrapped its endpoints

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session):
                value.commit()
        return result

    run.commits = True  # type: ignore[attr-defined]
    return run


class CommitInThread(APIRoute):
    """The route class of the store and the console: see the module's docstring."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, committing(endpoint), **kwargs)


def request_session(maker: sessionmaker[Session]) -> Iterator[Session]:
    """The body of a request's session dependency: committed when the endpoint returned (nothing is left
    to commit after ``CommitInThread``), rolled back when it raised, closed either way."""
    with maker() as session:
        yield session
        session.commit()
