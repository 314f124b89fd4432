"""Accounts can be locked: disable, enable, a new password and sign-out end sessions at once;
sessions end when idle; usernames are unique regardless of case; cookies carry the right flags."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from tests.api.stack import PASSWORD, Stack
from tests.security.helpers import sign_in

NEW_PASSWORD = "another long enough password"


def add_user(client: TestClient, stack: Stack, name: str, role: str = "staff") -> None:
    r = client.post("/api/v1/users", json={"username": name, "password": PASSWORD, "role": role}, headers=stack.headers("admin"))
    assert r.status_code == 201, r.text


def token_for(client: TestClient, stack: Stack, name: str) -> dict[str, str]:
    r = client.post("/api/v1/tokens", json={"username": name, "name": "tablet"}, headers=stack.headers("admin"))
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['secret']}"}


def test_disable_ends_sessions_and_tokens_at_once_and_enable_needs_a_new_sign_in(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "nurse-dis")
    token = token_for(client, stack, "nurse-dis")
    with TestClient(stack.app) as nurse:
        sign_in(nurse, "nurse-dis")
        assert nurse.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me", headers=token).status_code == 200

        r = client.post("/api/v1/users/nurse-dis/disable", headers=stack.headers("admin"))
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert nurse.get("/api/v1/me").status_code == 401  # at once, not after the cookie's life
        assert client.get("/api/v1/me", headers=token).status_code == 401
        assert nurse.get("/", follow_redirects=False).headers["location"].startswith("/login")

        r = client.post("/api/v1/users/nurse-dis/enable", headers=stack.headers("admin"))
        assert r.status_code == 200 and r.json()["disabled"] is False
        assert client.get("/api/v1/me", headers=token).status_code == 200
        assert nurse.get("/api/v1/me").status_code == 401  # the old cookie stays dead
        sign_in(nurse, "nurse-dis")
        assert nurse.get("/api/v1/me").status_code == 200


def test_an_admin_cannot_disable_themselves(stack: Stack, client: TestClient) -> None:
    r = client.post("/api/v1/users/ADMIN/disable", headers=stack.headers("admin"))
    assert r.status_code == 422 and r.json()["field"] == "username"


def test_only_admins_lock_accounts(stack: Stack, client: TestClient) -> None:
    for role in ("viewer", "staff", "coordinator"):
        assert client.post("/api/v1/users/viewer/disable", headers=stack.headers(role)).status_code == 403
        r = client.put("/api/v1/users/viewer/password", json={"password": NEW_PASSWORD}, headers=stack.headers(role))
        assert r.status_code == 403
    assert client.post("/api/v1/users/nobody-here/disable", headers=stack.headers("admin")).status_code == 404


def test_a_new_password_ends_every_session(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "nurse-pw")
    with TestClient(stack.app) as nurse:
        sign_in(nurse, "nurse-pw")
        r = client.put("/api/v1/users/nurse-pw/password", json={"password": NEW_PASSWORD}, headers=stack.headers("admin"))
        assert r.status_code == 200, r.text
        assert nurse.get("/api/v1/me").status_code == 401
        r = client.put("/api/v1/users/nurse-pw/password", json={"password": "short"}, headers=stack.headers("admin"))
        assert r.status_code == 422 and r.json()["field"] == "password"
    with TestClient(stack.app) as fresh:
        r = fresh.post("/login", data={"username": "nurse-pw", "password": PASSWORD, "csrf_token": _nonce(fresh)})
        assert r.status_code == 401
        sign_in(fresh, "nurse-pw", NEW_PASSWORD)


def _nonce(client: TestClient) -> str:
    from tests.security.helpers import login_csrf

    return login_csrf(client)


def test_sign_out_kills_a_copied_cookie(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "nurse-out")
    csrf = sign_in(client, "nurse-out")
    stolen = client.cookies.get("fa_session")
    assert stolen
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    with TestClient(stack.app) as thief:
        thief.cookies.set("fa_session", stolen)
        assert thief.get("/api/v1/me").status_code == 401


def test_an_idle_session_ends_and_an_active_one_slides(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "nurse-idle")
    sign_in(client, "nurse-idle")
    for _ in range(4):  # a request every 50 minutes keeps it alive past the hour
        stack.clock.advance(minutes=50)
        r = client.get("/api/v1/me")
        assert r.status_code == 200
        assert "fa_session=" in r.headers.get("set-cookie", ""), "activity re-issues the cookie"
    stack.clock.advance(minutes=61)
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_ends_after_twelve_hours_even_when_active(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "nurse-long")
    sign_in(client, "nurse-long")
    for _ in range(15):
        stack.clock.advance(minutes=50)
        client.get("/api/v1/me")
    assert client.get("/api/v1/me").status_code == 401


def test_usernames_are_unique_regardless_of_case(stack: Stack, client: TestClient) -> None:
    add_user(client, stack, "Nurse-Case")
    r = client.post("/api/v1/users", json={"username": "nurse-case", "password": PASSWORD, "role": "admin"}, headers=stack.headers("admin"))
    assert r.status_code == 409 and "regardless of case" in r.json()["detail"]
    sign_in(client, "NURSE-CASE")
    assert client.get("/api/v1/me").json()["username"] == "Nurse-Case"


def test_signing_in_replaces_a_planted_session_and_its_csrf_token(stack: Stack, client: TestClient) -> None:
    """Session fixation: a cookie (and CSRF token) someone got into the browser before the sign-in
    is replaced by the sign-in, so it never becomes the victim's session."""
    add_user(client, stack, "nurse-fix")
    planted_csrf = sign_in(client, "viewer")
    planted = client.cookies.get("fa_session")
    csrf = sign_in(client, "nurse-fix")
    assert client.cookies.get("fa_session") != planted and csrf != planted_csrf
    with TestClient(stack.app) as attacker:
        attacker.cookies.set("fa_session", planted or "")
        assert attacker.get("/api/v1/me").json()["username"] == "viewer"  # still only the attacker's own


def test_cookie_flags_with_secure_cookies(stack: Stack) -> None:
    app = create_app(stack.services, session_secret="s" * 32, secure_cookies=True)  # type: ignore[arg-type]
    with TestClient(app, base_url="https://testserver") as browser:
        login = browser.get("/login")
        assert "Secure" in login.headers["set-cookie"] and "HttpOnly" in login.headers["set-cookie"]
        from tests.security.helpers import login_csrf

        r = browser.post(
            "/login",
            data={"username": "viewer", "password": PASSWORD, "csrf_token": login_csrf(browser), "next": "/"},
            follow_redirects=False,
        )
        cookie = r.headers["set-cookie"]
        for flag in ("fa_session=", "HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert flag in cookie, cookie


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_short_session_secret_is_refused(stack: Stack, secret: str) -> None:
    if not secret:  # none given: a random one is made (sessions end at restart)
        create_app(stack.services)  # type: ignore[arg-type]
        return
    with pytest.raises(ValueError, match="at least 32"):
        create_app(stack.services, session_secret=secret)  # type: ignore[arg-type]
