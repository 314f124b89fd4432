"""The demo can't touch production: run with a production container's FACILITY_* settings, it
still uses its own SQLite file; and it never changes an account that already exists."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_demo import DemoRun, assert_all_gone, new_user_env

pytestmark = pytest.mark.slow

PRODUCTION_ENV = {
    # What deploy/compose.yaml gives the agent's container; the database is unreachable on purpose.
    "FACILITY_DATABASE__URL_ENV": "FACILITY_DATABASE_URL",
    "FACILITY_DATABASE_URL": "postgresql://facility:prod-password@127.0.0.1:1/facility",
    "FACILITY_DATABASE__URL": "postgresql://facility:prod-password@127.0.0.1:1/facility",
    "FACILITY_SESSION_SECRET": "p" * 64,
}


def _demo(tmp_path: Path, *extra: str) -> DemoRun:
    return DemoRun(
        [sys.executable, "-m", "agent.cli", "demo", "--port", "0", "--data-dir", str(tmp_path / "demo-data"), *extra],
        cwd=Path(__file__).resolve().parents[2],
        env=new_user_env(**PRODUCTION_ENV),
    )


def _stop(run: DemoRun) -> None:
    os.kill(run.process.pid, signal.SIGTERM)
    assert run.process.wait(60) == 0, run.output()[-4000:]
    assert_all_gone(run)


def _sign_in(base: str, username: str, password: str) -> int:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
        return r.status_code if r.status_code != 200 else 303  # followed the redirect to the queue


def test_the_demo_ignores_production_settings_and_never_changes_an_account(tmp_path: Path) -> None:
    run = _demo(tmp_path)
    try:
        url = run.wait_for(r"Open (http://127\.0\.0\.1:\d+)/", timeout=120).group(1)
        assert (tmp_path / "demo-data" / "facility.db").exists()  # its own SQLite, not the PostgreSQL above
        assert _sign_in(url, "coordinator", "clinic-demo") == 303
        _stop(run)
    finally:
        run.kill_leftovers()

    # Someone gave the demo's coordinator a password of their own; a kept-data run leaves it be.
    env = {**os.environ, "FACILITY_NEW_PASSWORD": "a password of my own"}
    config = tmp_path / "demo-data" / "demo-config.yaml"
    from agent.cli import main

    old = dict(os.environ)
    os.environ.update(env)
    try:
        assert main(["-c", str(config), "user", "passwd", "coordinator"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(old)

    run = _demo(tmp_path, "--keep-data")
    try:
        url = run.wait_for(r"Open (http://127\.0\.0\.1:\d+)/", timeout=120).group(1)
        assert run.find(r"already exists; its password was left as it was"), run.output()
        assert _sign_in(url, "coordinator", "clinic-demo") == 401
        assert _sign_in(url, "coordinator", "a password of my own") == 303
        _stop(run)
    finally:
        run.kill_leftovers()
