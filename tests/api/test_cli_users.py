"""`facility-agent user add` and `token create|list|revoke` against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main
from agent.services import auth
from agent.storage.db import create_db_engine, session_factory


@pytest.fixture
def config_file(db_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "facility.yaml"
    path.write_text(f"database:\n  url: {db_url!r}\n")
    return path


def test_user_add_then_token_create_use_and_revoke(
    config_file: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACILITY_NEW_PASSWORD", "a long enough password")
    assert main(["-c", str(config_file), "user", "add", "sam", "--role", "staff", "--team", "facilities"]) == 0
    assert "added sam (staff)" in capsys.readouterr().out
    # The same name twice is refused with a clear error.
    assert main(["-c", str(config_file), "user", "add", "sam", "--role", "staff"]) == 1
    assert "already exists" in capsys.readouterr().err

    assert main(["-c", str(config_file), "token", "create", "--user", "sam", "--name", "ward tablet"]) == 0
    out = capsys.readouterr()
    secret = out.out.strip()
    assert secret.startswith("fa_") and "shown only now" in out.err

    db = create_db_engine(db_url)
    sessions = session_factory(db)
    from datetime import UTC, datetime

    now = datetime(2026, 11, 27, tzinfo=UTC)
    who = auth.verify_token(sessions, secret=secret, now=now)
    assert who is not None and who.username == "sam" and who.role.value == "staff"
    assert auth.authenticate(sessions, username="sam", password="a long enough password") is not None
    assert auth.authenticate(sessions, username="sam", password="wrong password!") is None

    assert main(["-c", str(config_file), "token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "ward tablet" in listing and secret not in listing  # only the prefix is ever shown again

    prefix = secret.split("_")[1]
    assert main(["-c", str(config_file), "token", "revoke", prefix]) == 0
    assert auth.verify_token(sessions, secret=secret, now=now) is None
    # More rights than the user has: refused.
    assert main(["-c", str(config_file), "token", "create", "--user", "sam", "--name", "x", "--role", "admin"]) == 1
    assert "more rights" in capsys.readouterr().err
    db.dispose()


def test_password_too_short_is_refused(config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FACILITY_NEW_PASSWORD", "short")
    assert main(["-c", str(config_file), "user", "add", "kim", "--role", "viewer"]) == 1
    assert "at least 10 characters" in capsys.readouterr().err
