"""Through the public surfaces of a running agent: the CLI locks and unlocks an account and sets
a password, and the web session follows at once; the sign-in limiter slows one address without
locking the owner out at another (behind a trusted proxy); big bodies are refused; /readyz keeps
the database's error text to the log; responses carry the security headers."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine

from agent.cli import main
from agent.config import load_config_text
from agent.runtime import Runtime
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(base: str, username: str, password: str, forwarded_for: str = "") -> httpx.Response:
    """The form as a browser sends it; cookies by hand (the session cookie is Secure by default,
    and this test speaks plain http on loopback)."""
    extra = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    page = httpx.get(f"{base}/login", headers=extra, timeout=30)
    assert "Secure" in page.headers["set-cookie"], "cookie_secure is on by default"
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert nonce
    return httpx.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": nonce.group(1)},
        headers={**extra, "Cookie": f"fa_login={page.cookies['fa_login']}"},
        timeout=30,
    )


def me(base: str, session: str) -> int:
    return httpx.get(f"{base}/api/v1/me", headers={"Cookie": f"fa_session={session}"}, timeout=30).status_code


def test_cli_locks_an_account_and_the_web_session_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    text = f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}}}
api: {{port: {port}, session_secret_file: {tmp_path / "secret"}}}
"""
    (tmp_path / "secret").write_text("k" * 40)
    config_file = tmp_path / "facility.yaml"
    config_file.write_text(text)
    monkeypatch.setenv("FACILITY_NEW_PASSWORD", PASSWORD)
    for key in [k for k in __import__("os").environ if k.startswith("FACILITY_") and k != "FACILITY_NEW_PASSWORD"]:
        monkeypatch.delenv(key)
    runtime = Runtime(load_config_text(text, file=str(config_file), environ={})).build()
    cli = ["-c", str(config_file)]
    with RunningAgent(runtime):
        base = f"http://127.0.0.1:{port}"
        assert main([*cli, "user", "add", "Nurse", "--role", "staff"]) == 0
        assert main([*cli, "user", "add", "nurse", "--role", "admin"]) == 1  # the same name, another case
        assert "already exists" in capsys.readouterr().err

        r = sign_in(base, "NURSE", PASSWORD)
        assert r.status_code == 303, r.text
        session = r.cookies["fa_session"]
        assert me(base, session) == 200
        for header in ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"):
            assert header in r.headers

        assert main([*cli, "user", "disable", "nurse"]) == 0
        wait_until(lambda: me(base, session) == 401, timeout=10, what="the disabled user's session to stop")
        assert sign_in(base, "nurse", PASSWORD).status_code == 401
        assert main([*cli, "user", "enable", "nurse"]) == 0
        assert me(base, session) == 401  # the old cookie stays dead
        session = sign_in(base, "nurse", PASSWORD).cookies["fa_session"]

        (tmp_path / "new-password").write_text("the nurse's new password\n")
        assert main([*cli, "user", "passwd", "nurse", "--password-file", str(tmp_path / "new-password")]) == 0
        wait_until(lambda: me(base, session) == 401, timeout=10, what="the old session to end")
        assert sign_in(base, "nurse", "the nurse's new password").status_code == 303

        # Guessing from one address (behind the trusted local proxy) slows that address only.
        for _ in range(5):
            assert sign_in(base, "nurse", "wrong guess!", forwarded_for="10.9.9.9").status_code == 401
        slowed = sign_in(base, "nurse", "wrong guess!", forwarded_for="10.9.9.9")
        assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
        assert sign_in(base, "nurse", "the nurse's new password", forwarded_for="10.1.1.1").status_code == 303

        big = httpx.post(f"{base}/api/v1/alerts/1/ack", content=b"x" * 100_000, headers={"Content-Type": "application/json"}, timeout=30)
        assert big.status_code == 413

        # The database goes away: /readyz says so, and keeps the driver's text for the log.
        good = runtime.db
        runtime.db = create_engine("postgresql+psycopg://facility:db-secret-pw@127.0.0.1:1/facility")
        try:
            with caplog.at_level(logging.WARNING):
                ready = httpx.get(f"{base}/readyz", timeout=30)
        finally:
            runtime.db.dispose()
            runtime.db = good
        assert ready.status_code == 503 and "unreachable" in ready.json()["checks"]["storage"]
        assert "db-secret-pw" not in ready.text and "127.0.0.1:1" not in ready.text
