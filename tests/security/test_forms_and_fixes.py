"""Every page form refuses a missing or wrong CSRF token; sign-ins wait for a free argon2 slot and
refuse visibly when none comes; an SMTP username without TLS is refused by check-config; who
ended a silence is recorded; an alert's history comes a page at a time; sign-in guesses slow
the guessing address without locking the owner out."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agent.cli import main
from api.auth import SignInLimiter
from tests.api.stack import PASSWORD, Stack
from tests.security.helpers import login_csrf, sign_in
from tests.security.test_route_matrix import every_route

# /logout is checked on its own below. /ack carries no session: its signed, single-use token is
# the proof, so a forged or missing one is refused as "not valid" (400) and writes nothing.
NOT_FORMS = {"/logout", "/ack"}


def test_every_page_form_refuses_a_missing_or_wrong_csrf_token(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    sign_in(client, "admin")
    forms = [path.replace("/alerts/1/", f"/alerts/{alert}/") for method, path in every_route(stack.app)
             if method == "POST" and not path.startswith("/api/") and path not in NOT_FORMS]
    assert len(forms) >= 6, forms
    for path in forms:
        for token in (None, "forged-token"):
            data = {"comment": "csrf probe", "count": "3", "reason": "fixed", "assignee": "x", "next": "/"}
            if token:
                data["csrf_token"] = token
            r = client.post(path, data=data, follow_redirects=False)
            assert r.status_code == 403, (path, token, r.status_code)
    events = client.get(f"/api/v1/alerts/{alert}/events").json()
    assert [e["kind"] for e in events] == ["opened"], "no form did anything"
    for token in ("", "forged-token"):
        assert client.post("/ack", data={"token": token}, follow_redirects=False).status_code == 400
    assert [e["kind"] for e in client.get(f"/api/v1/alerts/{alert}/events").json()] == ["opened"]
    assert client.post("/logout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still signed in


def test_sign_ins_beyond_the_hashing_cap_are_refused_visibly(stack: Stack, client: TestClient) -> None:
    limiter = SignInLimiter(max_hashing=1, hash_wait=0.2)
    stack.app.state.limiter = limiter
    assert limiter.hashing.acquire()  # another sign-in is being checked
    try:
        r = client.post("/login", data={"username": "staff", "password": PASSWORD, "csrf_token": login_csrf(client)})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert "Many people are signing in at once" in r.text
    finally:
        limiter.hashing.release()
    r = client.post("/login", data={"username": "staff", "password": PASSWORD, "csrf_token": login_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303


def test_guesses_slow_down_progressively_but_never_lock_the_owner_out_elsewhere(stack: Stack, client: TestClient) -> None:
    limiter = SignInLimiter(attempts=3, window=timedelta(minutes=5))
    stack.app.state.limiter = limiter
    attacker, owner = limiter.keys("staff", "10.0.0.66"), limiter.keys("staff", "10.0.0.7")
    now = stack.clock()
    waits = []
    for _ in range(6):
        limiter.failed(attacker, now)
        waits.append(limiter.retry_after(attacker, now))
    assert waits[:2] == [0, 0] and waits[2:] == sorted(waits[2:]) and waits[-1] > waits[2] > 0
    assert max(waits) <= 300
    assert limiter.retry_after(owner, now) == 0


def test_an_smtp_username_without_tls_is_refused_by_check_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "facility.yaml"
    path.write_text("site: {id: clinic}\nnotifications:\n  smtp:\n    host: mail.example.org\n    username: agent\n")
    assert main(["check-config", str(path)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "notifications.smtp" in text and "starttls" in text and "facility.yaml" in text
    path.write_text("site: {id: clinic}\nnotifications:\n  smtp: {host: mail.example.org, username: agent, security: starttls}\n")
    assert main(["check-config", str(path)]) == 0


def test_who_ended_a_silence_is_recorded(stack: Stack, client: TestClient) -> None:
    body = {"team": "it", "duration_minutes": 60, "comment": "printer move"}
    created = client.post("/api/v1/silences", json=body, headers=stack.headers("coordinator")).json()
    assert created["ended_by"] is None
    ended = client.delete(f"/api/v1/silences/{created['id']}", headers=stack.headers("admin")).json()
    assert ended["ended_by"] == "admin"


def test_an_alerts_history_comes_a_page_at_a_time(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    for n in range(5):
        client.post(f"/api/v1/alerts/{alert}/comments", json={"text": f"note {n}"}, headers=stack.headers("staff"))
    first = client.get(f"/api/v1/alerts/{alert}/events?limit=4", headers=stack.headers("viewer"))
    assert len(first.json()) == 4 and 'rel="next"' in first.headers["link"]
    after = first.json()[-1]["id"]
    rest = client.get(f"/api/v1/alerts/{alert}/events?after={after}&limit=4", headers=stack.headers("viewer"))
    assert [e["comment"] for e in rest.json()] == ["note 3", "note 4"] and "link" not in rest.headers
    assert client.get(f"/api/v1/alerts/{alert}/events?limit=5000", headers=stack.headers("viewer")).status_code == 422
