"""Sign-in, session cookie, CSRF, the sign-in rate limit, tokens, and the server-rendered pages."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.api.stack import PASSWORD, Stack
from tests.support.wait import wait_until


def login_csrf(client: TestClient, next_url: str = "/") -> str:
    page = client.get(f"/login?next={next_url}")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; return the page CSRF token."""
    token = login_csrf(client)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert "fa_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_pages_send_strangers_to_sign_in_and_the_api_answers_401(stack: Stack, client: TestClient) -> None:
    for path in ("/", "/equipment", "/supplies", "/restock", "/alerts/1", "/restock.csv"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
    r = client.get("/api/v1/queue")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_sign_in_then_the_cookie_works_for_pages_and_the_api(stack: Stack, client: TestClient) -> None:
    csrf = sign_in(client, "staff")
    alert = stack.open_fridge_alert()
    assert client.get("/api/v1/queue").status_code == 200
    # A write that rides on the cookie needs the CSRF header...
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={})
    assert r.status_code == 403 and "did not come from this site" in r.json()["detail"]
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={"comment": "mine"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "staff"


def test_wrong_password_and_forged_login_form(stack: Stack, client: TestClient) -> None:
    token = login_csrf(client)
    r = client.post("/login", data={"username": "staff", "password": "nope nope nope", "csrf_token": token})
    assert r.status_code == 401 and "Wrong username or password" in r.text
    r = client.post("/login", data={"username": "staff", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403 and "fa_session" not in r.headers.get("set-cookie", "")


def test_sign_in_attempts_are_rate_limited(stack: Stack, client: TestClient) -> None:
    for _ in range(5):
        r = client.post("/login", data={"username": "staff", "password": "wrong wrong", "csrf_token": login_csrf(client)})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "staff", "password": PASSWORD, "csrf_token": login_csrf(client)})
    assert r.status_code == 429 and "Too many sign-in attempts" in r.text
    assert int(r.headers["retry-after"]) > 0
    stack.clock.advance(minutes=6)
    r = client.post(
        "/login", data={"username": "staff", "password": PASSWORD, "csrf_token": login_csrf(client)}, follow_redirects=False
    )
    assert r.status_code == 303


def test_tampered_session_cookie_is_ignored(stack: Stack, client: TestClient) -> None:
    client.cookies.set("fa_session", "eyJ1IjoiYWRtaW4iLCJjIjoieCJ9.forged.sig")
    assert client.get("/api/v1/me").status_code == 401


def test_sign_out_ends_the_session(stack: Stack, client: TestClient) -> None:
    csrf = sign_in(client, "viewer")
    assert client.get("/api/v1/me").json()["username"] == "viewer"
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_disabled_user_loses_the_session_within_seconds(stack: Stack, client: TestClient) -> None:
    """Disabled in the database (as another process would): who a user is, is reused for at most
    the services' principal_ttl (2 s), so the session stops working within it."""
    from sqlalchemy import text

    sign_in(client, "coordinator")
    assert client.get("/api/v1/me").status_code == 200
    with stack.db.begin() as conn:
        conn.execute(text("UPDATE users SET disabled = :t WHERE username = 'coordinator'"), {"t": True})
    wait_until(lambda: client.get("/api/v1/me").status_code == 401, 5, what="the disabled user refused")


def test_revoked_token_is_refused(stack: Stack, client: TestClient) -> None:
    admin = stack.headers("admin")
    made = client.post("/api/v1/tokens", json={"username": "staff", "name": "tablet"}, headers=admin).json()
    secret = made["secret"]
    assert secret.startswith("fa_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()["via"] == "token"
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert all("secret" not in t and secret not in str(t) for t in listed)
    assert client.delete(f"/api/v1/tokens/{made['token']['id']}", headers=admin).status_code == 200
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer fa_nothing_here"}).status_code == 401


def test_token_never_has_more_rights_than_its_user(stack: Stack, client: TestClient) -> None:
    made = client.post(
        "/api/v1/tokens", json={"username": "staff", "name": "ro", "role": "viewer"}, headers=stack.headers("admin")
    ).json()
    alert = stack.new_alert()
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers={"Authorization": f"Bearer {made['secret']}"})
    assert r.status_code == 403


def test_queue_page_speaks_plainly_and_hides_actions_from_viewers(stack: Stack, client: TestClient) -> None:
    alert = stack.open_fridge_alert("fridge-2", 9.1)
    stack.clock.advance(minutes=12)
    sign_in(client, "viewer")
    page = client.get("/").text
    assert "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C) for 12 minutes" in page
    assert f'action="/alerts/{alert}/ack"' not in page
    assert "Nitrile gloves M in Ward 3: 4 boxes left (reorder at 8)" in page
    assert "https://" not in page  # nothing from a CDN
    client.cookies.clear()
    sign_in(client, "staff")
    page = client.get("/").text
    assert f'action="/alerts/{alert}/ack"' in page
    assert f'action="/alerts/{alert}/assign"' not in page  # coordinators assign
    client.cookies.clear()
    sign_in(client, "coordinator")
    assert f'action="/alerts/{alert}/assign"' in client.get("/").text


def test_form_actions_need_the_csrf_token_and_land_in_the_history(stack: Stack, client: TestClient) -> None:
    alert = stack.open_fridge_alert()
    csrf = sign_in(client, "staff")
    r = client.post(f"/alerts/{alert}/ack", data={"comment": "no token"}, follow_redirects=False)
    assert r.status_code == 403
    r = client.post(
        f"/alerts/{alert}/ack", data={"comment": "on my way", "csrf_token": csrf, "next": "/"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/?notice=")
    r = client.post(
        f"/alerts/{alert}/ack", data={"csrf_token": csrf, "next": f"/alerts/{alert}"}, follow_redirects=False
    )
    assert r.status_code == 303 and "error=" in r.headers["location"]  # already acknowledged: said on the page
    r = client.post(
        f"/alerts/{alert}/comment", data={"comment": "fan noisy", "csrf_token": csrf, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/?")  # never redirects off-site
    history = client.get(f"/alerts/{alert}").text
    assert "Acknowledged by Staff" in history and "on my way" in history and "fan noisy" in history
    r = client.post(
        f"/alerts/{alert}/resolve", data={"reason": "other", "comment": "", "csrf_token": csrf}, follow_redirects=True
    )
    assert "say what happened" in r.text


def test_equipment_supplies_and_restock_pages(stack: Stack, client: TestClient) -> None:
    stack.submit(stack.reading("printer-1", "toner.black.pct", 72.0, unit="%"))
    csrf = sign_in(client, "staff")
    board = client.get("/equipment").text
    assert "Ward 3 printer" in board and "Toner black <b>72%</b>" in board
    assert "Fridge 2" in client.get("/equipment/fridge-2").text
    assert client.get("/equipment/nope").status_code == 404
    supplies = client.get("/supplies").text
    assert "Nitrile gloves M" in supplies and 'action="/supplies/GLV-M/count"' in supplies
    r = client.post("/supplies/GLV-M/count", data={"count": "abc", "csrf_token": csrf}, follow_redirects=True)
    assert "count: enter how many" in r.text
    r = client.post("/supplies/GLV-M/count", data={"count": "15", "csrf_token": csrf}, follow_redirects=True)
    assert "Count recorded for GLV-M" in r.text
    assert client.get("/api/v1/supplies/GLV-M", headers=stack.headers("viewer")).json()["on_hand"] == 15
    client.post("/supplies/TNR-BK/count", data={"count": "0", "csrf_token": csrf})
    restock = client.get("/restock").text
    assert "Black toner" in restock and "Download CSV" in restock
    csv = client.get("/restock.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"] and "TNR-BK" in csv.text
    api_csv = client.get("/api/v1/restock", headers={**stack.headers("viewer"), "Accept": "text/csv"})
    assert api_csv.headers["content-type"].startswith("text/csv") and "TNR-BK" in api_csv.text
    assert any(line["sku"] == "TNR-BK" for line in client.get("/api/v1/restock", headers=stack.headers("viewer")).json())


def test_viewer_cannot_use_forms(stack: Stack, client: TestClient) -> None:
    alert = stack.open_fridge_alert()
    csrf = sign_in(client, "viewer")
    r = client.post(f"/alerts/{alert}/ack", data={"csrf_token": csrf}, follow_redirects=True)
    assert "This needs the staff role" in r.text
    assert client.get(f"/api/v1/alerts/{alert}", headers=stack.headers("viewer")).json()["status"] == "open"


def test_the_runtimes_inventory_object_still_serves_supplies(stack: Stack) -> None:
    """The runtime passes its agent.inventory.Inventory (hook + sessions); supplies still work."""
    from dataclasses import dataclass

    from agent.services.app_services import AppServices

    @dataclass
    class NotTheSuppliesModule:
        hook: object
        sessions: object

    assert stack.pipeline is not None
    services = AppServices(
        sessions=stack.pipeline.sessions,
        pipeline=stack.pipeline,
        clock=stack.clock,
        inventory=NotTheSuppliesModule(hook=None, sessions=None),
    )
    assert {s.sku for s in services.list_supplies(location=None, low_only=False)} == {"GLV-M", "TNR-BK"}
