"""Signing in through the form, as a browser does."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.api.stack import PASSWORD


def login_csrf(client: TestClient) -> str:
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in; return the page's CSRF token."""
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": login_csrf(client), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text)
    assert match
    return match.group(1)
