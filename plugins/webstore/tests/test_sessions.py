"""Sessions live on the server: signing out ends them, their owner and the seller can end them, links work once."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from weishang_webstore.app import create_app

from weishang_core.config import load_settings
from weishang_core.db import get_sessionmaker

BASE = "http://127.0.0.1:8000"


@pytest.fixture
def shop(store, monkeypatch):
    monkeypatch.setenv("WEISHANG_HOME", str(store.home))
    monkeypatch.setenv("WEISHANG_DATABASE_URL", store.url)
    store("reseller", "add", "勤妹子", "--sponsor", "老李")
    store("reseller", "add", "阿芳", "--sponsor", "老李")
    app = create_app(load_settings(store.url))
    yield store, app
    app.state.clicks.close()


def signed_in(store, app, name: str, agent: str = "phone") -> TestClient:
    client = TestClient(app, headers={"user-agent": agent})
    landed = client.get(store("store", "magic-link", name).stdout.strip().removeprefix(BASE), follow_redirects=False)
    assert landed.status_code == 303, landed.text
    return client


def test_a_console_cookie_is_dead_after_sign_out(shop) -> None:
    store, app = shop
    seller = TestClient(app)
    link = store("console-link").stdout.strip().removeprefix(BASE)
    assert seller.get(link, follow_redirects=False).status_code == 303
    cookie = seller.cookies.get("ws_console")
    page = seller.get("/console")
    assert page.status_code == 200
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert seller.post("/console/signout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    replay = TestClient(app)  # the cookie copied before signing out, as a thief would keep it
    replay.cookies.set("ws_console", cookie, path="/console")
    answer = replay.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_a_resellers_sign_in_link_works_once(shop) -> None:
    store, app = shop
    link = store("store", "magic-link", "勤妹子").stdout.strip().removeprefix(BASE)
    first, second = TestClient(app), TestClient(app)
    assert first.get(link, follow_redirects=False).status_code == 303
    again = second.get(link, follow_redirects=False)
    assert again.status_code == 403 and "used already" in again.json()["error"]
    assert second.get("/api/me").status_code == 401 and first.get("/api/me").json()["name"] == "勤妹子"


def test_a_reseller_sees_her_sessions_and_ends_one(shop) -> None:
    store, app = shop
    phone, laptop = signed_in(store, app, "勤妹子", "her phone"), signed_in(store, app, "勤妹子", "a shared laptop")
    listed = phone.get("/api/me/sessions").json()
    assert [(s["user_agent"], s["current"], s["purpose"]) for s in listed] == [
        ("a shared laptop", False, "store"),
        ("her phone", True, "store"),
    ]
    fang = signed_in(store, app, "阿芳")
    assert fang.post(f"/api/me/sessions/{listed[0]['id']}/end").status_code == 404  # not hers to end
    assert laptop.get("/api/me").status_code == 200
    assert phone.post(f"/api/me/sessions/{listed[0]['id']}/end").json() == {"ended": listed[0]["id"]}
    assert laptop.get("/api/me").status_code == 401
    assert phone.post(f"/api/me/sessions/{listed[0]['id']}/end").status_code == 404  # ended already
    page = phone.get("/me").text
    assert 'id="sessions"' in page and "her phone" in page and "a shared laptop" not in page
    assert phone.post("/api/signout").json() == {"status": "signed out"}
    assert phone.get("/api/me").status_code == 401


def test_the_seller_lists_and_ends_anyones_sessions(shop) -> None:
    store, app = shop
    qin, fang = signed_in(store, app, "勤妹子"), signed_in(store, app, "阿芳")
    listed = store.json("sessions", "list")
    assert sorted(s["person"] for s in listed) == ["勤妹子", "阿芳"] and all(s["live"] for s in listed)
    [fangs] = [s["id"] for s in listed if s["person"] == "阿芳"]
    assert store("sessions", "end", str(fangs)).stdout.strip() == f"session {fangs} ended"
    assert fang.get("/api/me").status_code == 401 and qin.get("/api/me").status_code == 200
    assert f"session {fangs} has ended already" in store.fails("sessions", "end", str(fangs))
    assert "no session 999" in store.fails("sessions", "end", "999")
    assert store("sessions", "end", "--person", "勤妹子").stdout.strip() == "1 session(s) of 勤妹子 ended"
    assert qin.get("/api/me").status_code == 401
    assert store.json("sessions", "list") == []
    assert {s["end_reason"] for s in store.json("sessions", "list", "--all")} == {"ended by the seller"}


def test_only_a_hash_of_the_token_is_stored(shop) -> None:
    from weishang_core.models import SignInSession

    store, app = shop
    qin = signed_in(store, app, "勤妹子")
    token = qin.cookies.get("ws_session")
    with get_sessionmaker(store.url)() as session:
        [row] = session.scalars(select(SignInSession)).all()
    assert token and token not in (row.token_hash, row.user_agent) and len(token) >= 40
    assert TestClient(app, headers={"authorization": f"Bearer {token}"}).get("/api/me").json()["name"] == "勤妹子"
    forged = TestClient(app, headers={"authorization": f"Bearer {row.token_hash}"})  # a copy of the database
    assert forged.get("/api/me").status_code == 401


def test_many_taps_on_end_end_a_session_once(shop) -> None:
    store, app = shop
    qin = signed_in(store, app, "勤妹子")
    [mine] = qin.get("/api/me/sessions").json()
    answers: list[int] = []
    start = threading.Barrier(8)

    def tap() -> None:
        client = TestClient(app, cookies={"ws_session": qin.cookies.get("ws_session")})
        start.wait()
        answers.append(client.post(f"/api/me/sessions/{mine['id']}/end").status_code)

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers).count(200) == 1 and set(answers) <= {200, 401, 404}
