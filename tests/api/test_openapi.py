"""The OpenAPI document: every route of DESIGN.md, documented errors, and examples throughout."""

from __future__ import annotations

from typing import Any

from api.app import create_app

DESIGN_ROUTES = {
    ("get", "/api/v1/alerts"),
    ("get", "/api/v1/alerts/{alert_id}"),
    ("post", "/api/v1/alerts/{alert_id}/ack"),
    ("post", "/api/v1/alerts/{alert_id}/unack"),
    ("post", "/api/v1/alerts/{alert_id}/resolve"),
    ("post", "/api/v1/alerts/{alert_id}/assign"),
    ("post", "/api/v1/alerts/{alert_id}/comments"),
    ("get", "/api/v1/alerts/{alert_id}/events"),
    ("get", "/api/v1/queue"),
    ("get", "/api/v1/equipment"),
    ("get", "/api/v1/equipment/{equipment_id}"),
    ("get", "/api/v1/supplies"),
    ("get", "/api/v1/supplies/{sku}"),
    ("post", "/api/v1/supplies/{sku}/counts"),
    ("patch", "/api/v1/supplies/{sku}"),
    ("get", "/api/v1/restock"),
    ("get", "/api/v1/restock/reports"),
    ("post", "/api/v1/silences"),
    ("get", "/api/v1/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}
PUBLIC = {"/healthz", "/readyz", "/metrics"}


def document() -> dict[str, Any]:
    return create_app(object(), session_secret="x" * 32).openapi()  # type: ignore[arg-type]


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_every_design_route_is_documented() -> None:
    doc = document()
    present = {(method, path) for method, path, _ in operations(doc)}
    assert present >= DESIGN_ROUTES, DESIGN_ROUTES - present
    assert not any(path.startswith(("/login", "/queue/", "/static")) for _, path, _ in operations(doc))


def test_every_success_has_an_example_and_every_body_too() -> None:
    doc = document()
    schemas = doc["components"]["schemas"]
    for method, path, op in operations(doc):
        ok = next(op["responses"][code] for code in ("200", "201") if code in op["responses"])
        assert any("example" in c or "examples" in c for c in ok.get("content", {}).values()), (method, path)
        body = op.get("requestBody")
        if body:
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert schemas[ref].get("examples"), (method, path, ref)


def test_protected_routes_document_auth_and_their_errors() -> None:
    doc = document()
    assert {"HTTPBearer", "APIKeyCookie"} <= set(doc["components"]["securitySchemes"])
    for method, path, op in operations(doc):
        if path in PUBLIC:
            assert "security" not in op, path
            continue
        assert {"HTTPBearer": []} in op["security"], (method, path)
        assert "401" in op["responses"], (method, path)
        if method != "get" or path.endswith("/users") or path.endswith("/tokens"):
            assert "403" in op["responses"], (method, path)
        if "{" in path:
            assert "404" in op["responses"] and "422" in op["responses"], (method, path)
    error = doc["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"detail", "field"}
