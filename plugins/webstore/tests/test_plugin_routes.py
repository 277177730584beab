"""A plugin's routers (``web_routers``) are mounted on the store, with the store's dependencies and errors."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select
from weishang_webstore.app import create_app
from weishang_webstore.deps import ResellerDep, SessionDep, StaffDep

from tests.channel_kit import registered
from weishang_core import hookimpl
from weishang_core.config import load_settings
from weishang_core.errors import Conflict
from weishang_core.models import StoreSetting

callbacks = APIRouter(prefix="/pay/acme")


@callbacks.post("/notify/{paid}")
def notify(paid: str, session: SessionDep) -> dict[str, str]:
    """Writes through the request's session: the write must be committed though this is no store route."""
    if paid == "twice":
        raise Conflict("payment: told twice")
    session.add(StoreSetting(key=f"acme-{paid}", value="paid"))
    return {"status": "ok"}


@callbacks.get("/mine")
def mine(person: ResellerDep) -> dict[str, str]:
    return {"name": person.handle or ""}


@callbacks.get("/staff")
def staff_only(me: StaffDep) -> dict[str, str]:
    return {"name": me.person.handle or ""}


class Acme:
    @hookimpl
    def web_routers(self):  # type: ignore[no-untyped-def]
        return [callbacks]


def test_a_plugin_router_is_mounted_with_the_store_dependencies_and_errors(store) -> None:
    with registered(Acme()):
        app = create_app(load_settings(store.url))
    try:
        client = TestClient(app)
        assert client.post("/pay/acme/notify/A1").json() == {"status": "ok"}
        with app.state.store.maker() as session:
            assert session.scalar(select(StoreSetting.value).where(StoreSetting.key == "acme-A1")) == "paid"
        refused = client.post("/pay/acme/notify/twice", headers={"accept": "application/json"})
        assert refused.status_code == 409 and refused.json() == {"error": "payment: told twice"}
        page = client.post("/pay/acme/notify/twice")  # a browser's path outside /api/: the friendly page
        assert page.status_code == 409 and "payment: told twice" in page.text
        signed_out = client.get("/pay/acme/mine")
        assert signed_out.status_code == 401 and signed_out.json()["error"].startswith("session:")
        to_console = client.get("/pay/acme/staff", follow_redirects=False)
        assert to_console.status_code == 303 and to_console.headers["location"] == "/console/login"
    finally:
        app.state.clicks.close()


def test_without_the_plugin_its_routes_are_absent(store) -> None:
    app = create_app(load_settings(store.url))
    try:
        assert TestClient(app).post("/pay/acme/notify/A1").status_code == 404
    finally:
        app.state.clicks.close()
