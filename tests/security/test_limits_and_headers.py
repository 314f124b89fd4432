"""Size limits refuse before anything is parsed or signed in; every response carries the security
headers; the pages hold no inline script; /readyz gives no raw database error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from starlette.testclient import TestClient

from api.guards import MAX_BODY, MAX_FORM_FIELDS
from tests.api.stack import Stack
from tests.security.helpers import sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


def test_a_body_over_64_kib_is_refused_before_sign_in(stack: Stack, client: TestClient) -> None:
    big = b'{"comment": "' + b"x" * MAX_BODY + b'"}'
    for path in ("/api/v1/alerts/1/ack", "/login", "/api/v1/users"):  # no credentials at all
        r = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "larger than 65536 bytes" in r.json()["detail"], (path, r.status_code)


def test_a_chunked_body_over_the_limit_is_refused_while_read(stack: Stack, client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"y" * 4096

    r = client.post("/api/v1/alerts/1/ack", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_a_body_at_the_limit_reaches_the_route(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    body = {"comment": "z" * 1900}
    r = client.post(f"/api/v1/alerts/{alert}/ack", json=body, headers=stack.headers("staff"))
    assert r.status_code == 200
    r = client.post(f"/api/v1/alerts/{alert}/comments", json={"text": "a" * 5000}, headers=stack.headers("staff"))
    assert r.status_code == 422 and r.json()["field"] == "text"  # the field's own limit names it


def test_a_form_with_too_many_fields_or_multipart_is_refused(stack: Stack, client: TestClient) -> None:
    fields = "&".join(f"f{n}=1" for n in range(MAX_FORM_FIELDS + 5))
    r = client.post("/login", content=fields, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and "fields" in r.json()["detail"]
    r = client.post("/login", files={"username": ("a.txt", b"x")})
    assert r.status_code == 415


def test_every_response_has_the_security_headers(stack: Stack, client: TestClient) -> None:
    sign_in(client, "viewer")
    for path in ("/", "/login", "/api/v1/me", "/healthz", "/metrics", "/static/app.js", "/api/v1/nope", "/equipment/nope"):
        r = client.get(path)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-frame-options"] == "DENY", path


def test_templates_hold_no_inline_script_or_handlers() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name} has an inline event handler"
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag, f"{template.name} has an inline <script>"
        assert "javascript:" not in text, template.name


def test_readyz_gives_no_raw_database_error(stack: Stack, client: TestClient) -> None:
    assert stack.services is not None
    secret_host = "db-secret-host.internal"

    def broken() -> None:
        raise RuntimeError(f"could not connect to server: {secret_host} password=hunter2-pg")

    stack.services.sessions = broken  # type: ignore[assignment,method-assign]
    r = client.get("/readyz")
    assert r.status_code == 503
    assert secret_host not in r.text and "hunter2" not in r.text
    assert r.json()["checks"]["database"] == "unreachable: RuntimeError"
