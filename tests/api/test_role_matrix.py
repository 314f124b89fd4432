"""Every route × every role, with the expected status: 401 without credentials, 403 below the
route's role, success at or above it. Each allowed write gets fresh state to act on."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.stack import Stack

ROLES = (None, "viewer", "staff", "coordinator", "admin")
RANK = {"viewer": 0, "staff": 1, "coordinator": 2, "admin": 3}
HAS_SUPPLIES = importlib.util.find_spec("agent.services.supplies") is not None


@dataclass
class Case:
    method: str
    path: str  # may contain {alert}, {acked}, {silence}, {token}, {n}
    needs: str | None  # lowest role allowed; None: public
    ok: int = 200
    body: Callable[[int], dict[str, Any]] | None = None
    supplies: bool = False


CASES = [
    Case("GET", "/api/v1/alerts", "viewer"),
    Case("GET", "/api/v1/alerts/{alert}", "viewer"),
    Case("GET", "/api/v1/alerts/{alert}/events", "viewer"),
    Case("GET", "/api/v1/queue", "viewer"),
    Case("POST", "/api/v1/alerts/{alert}/ack", "staff", body=lambda n: {"comment": "on my way"}),
    Case("POST", "/api/v1/alerts/{acked}/unack", "staff", body=lambda n: {"comment": ""}),
    Case("POST", "/api/v1/alerts/{alert}/resolve", "staff", body=lambda n: {"reason": "fixed", "comment": "door shut"}),
    Case("POST", "/api/v1/alerts/{alert}/assign", "coordinator", body=lambda n: {"assignee": "biomed"}),
    Case("POST", "/api/v1/alerts/{alert}/comments", "staff", 201, body=lambda n: {"text": "checked"}),
    Case("GET", "/api/v1/equipment", "viewer"),
    Case("GET", "/api/v1/equipment/fridge-2", "viewer"),
    Case("GET", "/api/v1/supplies", "viewer", supplies=True),
    Case("GET", "/api/v1/supplies/GLV-M", "viewer", supplies=True),
    Case("GET", "/api/v1/supplies/GLV-M/counts", "viewer", supplies=True),
    Case("POST", "/api/v1/supplies/GLV-M/counts", "staff", 201, body=lambda n: {"count": 12}, supplies=True),
    Case("PATCH", "/api/v1/supplies/GLV-M", "coordinator", body=lambda n: {"par": 30}, supplies=True),
    Case("GET", "/api/v1/restock", "viewer", supplies=True),
    Case("GET", "/api/v1/restock/reports", "viewer", supplies=True),
    Case("POST", "/api/v1/silences", "coordinator", 201,
         body=lambda n: {"equipment_id": "fridge-1", "duration_minutes": 30, "comment": "defrost"}),
    Case("GET", "/api/v1/silences", "viewer"),
    Case("DELETE", "/api/v1/silences/{silence}", "coordinator"),
    Case("GET", "/api/v1/unknown-sources", "coordinator"),
    Case("GET", "/api/v1/me", "viewer"),
    Case("GET", "/api/v1/users", "admin"),
    Case("POST", "/api/v1/users", "admin", 201,
         body=lambda n: {"username": f"new{n}", "password": "long enough pw", "role": "staff"}),
    Case("GET", "/api/v1/tokens", "admin"),
    Case("POST", "/api/v1/tokens", "admin", 201, body=lambda n: {"username": "staff", "name": f"t{n}"}),
    Case("DELETE", "/api/v1/tokens/{token}", "admin"),
    Case("GET", "/healthz", None),
    Case("GET", "/readyz", None),
    Case("GET", "/metrics", None),
]


def _fill(stack: Stack, client: TestClient, path: str) -> str:
    """Fresh state for each call, so an allowed write always has something valid to act on."""
    if "{alert}" in path:
        path = path.replace("{alert}", str(stack.new_alert()))
    if "{acked}" in path:
        alert = stack.new_alert()
        r = client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=stack.headers("staff"))
        assert r.status_code == 200, r.text
        path = path.replace("{acked}", str(alert))
    if "{silence}" in path:
        r = client.post(
            "/api/v1/silences",
            json={"team": "it", "duration_minutes": 5, "comment": "x"},
            headers=stack.headers("coordinator"),
        )
        assert r.status_code == 201, r.text
        path = path.replace("{silence}", str(r.json()["id"]))
    if "{token}" in path:
        r = client.post("/api/v1/tokens", json={"username": "viewer", "name": "x"}, headers=stack.headers("admin"))
        assert r.status_code == 201, r.text
        path = path.replace("{token}", str(r.json()["token"]["id"]))
    return path


def expected(case: Case, role: str | None) -> int:
    if case.needs is None:
        return case.ok
    if role is None:
        return 401
    return case.ok if RANK[role] >= RANK[case.needs] else 403


def test_every_route_for_every_role(stack: Stack, client: TestClient) -> None:
    failures = []
    checked = 0
    for n, case in enumerate(CASES):
        if case.supplies and not HAS_SUPPLIES:
            continue
        for role in ROLES:
            path = _fill(stack, client, case.path)
            body = case.body(n * 10 + ROLES.index(role)) if case.body else None
            r = client.request(case.method, path, json=body, headers=stack.headers(role))
            want = expected(case, role)
            checked += 1
            if r.status_code != want:
                failures.append(f"{case.method} {case.path} as {role}: {r.status_code} (want {want}) {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert checked >= len(CASES) * len(ROLES) - (0 if HAS_SUPPLIES else 6 * len(ROLES))


def test_supply_routes_are_wired() -> None:
    if not HAS_SUPPLIES:
        pytest.skip("agent.services.supplies has not landed yet")
