"""Every route of the app × every way in that should no longer work: no credentials, an expired
cookie, a signed-out cookie, a revoked token, a disabled user's token and cookie. The JSON API
answers 401, pages send the browser to sign in, and nothing is changed. Then every API route ×
every role once more, this time signed in with the cookie (tests/api/test_role_matrix.py does it
with tokens)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from tests.api.stack import Stack
from tests.api.test_role_matrix import CASES, HAS_SUPPLIES, ROLES, _fill, expected
from tests.security.helpers import sign_in

# Open to everyone on purpose: probes, Prometheus, the sign-in page, the OpenAPI document.
# The one-tap acknowledgement pages: the signed, single-use link is their credential (tests/notify).
PUBLIC = {"/healthz", "/readyz", "/metrics", "/login", "/api/v1/openapi.json", "/ack/{token}", "/ack"}
FILL = {"alert_id": "1", "equipment_id": "fridge-2", "sku": "GLV-M", "silence_id": "1", "token_id": "1", "username": "viewer"}


def _paths_and_methods(app: object) -> list[tuple[str, set[str]]]:
    found = []
    for route in app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute):
            found.append((route.path, set(route.methods)))
        elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
            found += [(ctx.path, set(ctx.methods or ())) for ctx in route.effective_route_contexts()]
    return found


def every_route(app: object) -> list[tuple[str, str]]:
    out = []
    for raw_path, methods in _paths_and_methods(app):
        if raw_path in PUBLIC:
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: FILL.get(m.group(1), "1"), raw_path)
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path))
    return out


def refused(response: object, path: str) -> bool:
    status = response.status_code  # type: ignore[attr-defined]
    if path.startswith("/api/"):
        return status == 401
    location = response.headers.get("location", "")  # type: ignore[attr-defined]
    return status in (303, 401, 403) and (status != 303 or location.startswith("/login"))


def _no_credentials(stack: Stack, client: TestClient) -> dict[str, str]:
    return {}


def _expired_cookie(stack: Stack, client: TestClient) -> dict[str, str]:
    sign_in(client, "admin")
    stack.clock.advance(hours=2)  # idle for longer than the idle timeout
    return {}


def _signed_out_cookie(stack: Stack, client: TestClient) -> dict[str, str]:
    csrf = sign_in(client, "admin")
    stolen = client.cookies.get("fa_session") or ""
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set("fa_session", stolen)
    return {"X-CSRF-Token": csrf}


def _revoked_token(stack: Stack, client: TestClient) -> dict[str, str]:
    r = client.post("/api/v1/tokens", json={"username": "admin", "name": "soon revoked"}, headers=stack.headers("admin"))
    token = r.json()
    assert client.delete(f"/api/v1/tokens/{token['token']['id']}", headers=stack.headers("admin")).status_code == 200
    return {"Authorization": f"Bearer {token['secret']}"}


def _disabled_users_token(stack: Stack, client: TestClient) -> dict[str, str]:
    admin = stack.headers("admin")
    client.post("/api/v1/users", json={"username": "gone-admin", "password": "long enough pw", "role": "admin"}, headers=admin)
    secret = client.post("/api/v1/tokens", json={"username": "gone-admin", "name": "t"}, headers=admin).json()["secret"]
    assert client.post("/api/v1/users/gone-admin/disable", headers=admin).status_code == 200
    return {"Authorization": f"Bearer {secret}"}


def _disabled_users_cookie(stack: Stack, client: TestClient) -> dict[str, str]:
    admin = stack.headers("admin")
    client.post("/api/v1/users", json={"username": "gone-admin2", "password": "long enough pw", "role": "admin"}, headers=admin)
    csrf = sign_in(client, "gone-admin2", "long enough pw")
    assert client.post("/api/v1/users/gone-admin2/disable", headers=admin).status_code == 200
    return {"X-CSRF-Token": csrf}


STATES: dict[str, Callable[[Stack, TestClient], dict[str, str]]] = {
    "no credentials": _no_credentials,
    "expired cookie": _expired_cookie,
    "signed-out cookie": _signed_out_cookie,
    "revoked token": _revoked_token,
    "disabled user's token": _disabled_users_token,
    "disabled user's cookie": _disabled_users_cookie,
}


@pytest.mark.parametrize("state", list(STATES))
def test_every_route_refuses(stack: Stack, client: TestClient, state: str) -> None:
    headers = STATES[state](stack, client)
    routes = every_route(stack.app)
    assert len(routes) >= 40, routes
    failures = []
    for method, path in routes:
        kwargs: dict[str, object] = {"headers": headers, "follow_redirects": False}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json" if path.startswith("/api/") else "data"] = {"comment": "x", "csrf_token": headers.get("X-CSRF-Token", "")}
        if path == "/api/v1/events":
            continue  # a stream; its refusal is below
        r = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        if not refused(r, path):
            failures.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    r = client.get("/api/v1/events", headers=headers)
    if r.status_code != 401:
        failures.append(f"GET /api/v1/events: {r.status_code}")
    assert not failures, f"{state}:\n" + "\n".join(failures)
    # Nothing was acknowledged, commented or changed by any of it.
    history = client.get("/api/v1/alerts?state=acknowledged", headers=stack.headers("viewer")).json()
    assert history["items"] == []


def test_every_api_route_for_every_role_signed_in_with_the_cookie(stack: Stack, client: TestClient) -> None:
    csrf = {role: "" for role in ROLES if role}
    clients = {}
    for role in csrf:
        clients[role] = TestClient(stack.app)
        clients[role].__enter__()
        csrf[role] = sign_in(clients[role], role)
    failures = []
    try:
        for n, case in enumerate(CASES):
            if (case.supplies and not HAS_SUPPLIES) or case.needs is None:
                continue
            for role in ROLES:
                path = _fill(stack, client, case.path)
                body = case.body(1000 + n * 10 + ROLES.index(role)) if case.body else None
                caller = clients[role] if role else client
                headers = {"X-CSRF-Token": csrf[role]} if role else {}
                r = caller.request(case.method, path, json=body, headers=headers)
                if r.status_code != expected(case, role):
                    failures.append(f"{case.method} {case.path} as {role}: {r.status_code} {r.text[:150]}")
                if role and case.method != "GET":  # the same write without the CSRF header: refused
                    r = caller.request(case.method, _fill(stack, client, case.path), json=body)
                    if r.status_code != 403:
                        failures.append(f"{case.method} {case.path} as {role} without CSRF: {r.status_code}")
    finally:
        for c in clients.values():
            c.__exit__(None, None, None)
    assert not failures, "\n".join(failures)
