"""The shared test helpers do what the other tests rely on: isolation, waiting, a clock, skip vs fail."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from agent.storage.db import create_db_engine
from tests.support.clock import FakeClock
from tests.support.db import postgres_unavailable, with_schema
from tests.support.wait import WaitTimeout, wait_until

REPO = Path(__file__).resolve().parents[1]


def test_wait_until_returns_the_first_truthy_value() -> None:
    calls = iter([0, None, "ready"])
    assert wait_until(lambda: next(calls), timeout=5, interval=0.001) == "ready"


def test_wait_until_names_what_it_waited_for_on_deadline() -> None:
    with pytest.raises(WaitTimeout) as caught:
        wait_until(lambda: False, timeout=0.05, interval=0.01, what="the broker to accept connections")
    message = str(caught.value)
    assert "the broker to accept connections" in message
    assert "timed out after 0.05s" in message
    assert "last value: False" in message


def test_wait_until_treats_exceptions_as_not_yet_and_reports_the_last_one() -> None:
    def refused() -> bool:
        raise ConnectionRefusedError("nobody listening")

    with pytest.raises(AssertionError, match="ConnectionRefusedError"):
        wait_until(refused, timeout=0.05, interval=0.01)


def test_clock_moves_only_when_told(clock: FakeClock) -> None:
    start = clock.now()
    assert start.tzinfo is not None and start.utcoffset() == timedelta(0)
    time.sleep(0.01)
    assert clock() == start
    assert clock.advance(timedelta(minutes=5)) == start + timedelta(minutes=5)
    later = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert clock.set(later) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_clock_refuses_naive_times_and_going_back_by_advance(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def test_db_url_is_migrated_and_private(db_url: str, db_backend: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert "alembic_version" in tables
            assert {"alerts", "alert_events"} <= tables
            if db_backend == "postgresql":
                schema = conn.execute(text("SELECT current_schema()")).scalar_one()
                assert schema.startswith("fa_test_")
                in_public = conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
                        "AND table_name = 'alembic_version'"
                    )
                ).scalar_one()
                assert in_public == 0, "migrations must land in the test's own schema, not public"
    finally:
        engine.dispose()


def test_schema_url_keeps_other_query_options() -> None:
    url = with_schema("postgresql://u@h:5432/test?sslmode=disable", "fa_test_1")
    assert "sslmode=disable" in url
    assert "options=-csearch_path%3Dfa_test_1" in url
    assert "application_name=fa_test_1" in url


def test_unreachable_postgres_is_explained() -> None:
    reason = postgres_unavailable("postgresql://postgres@127.0.0.1:1/test")
    assert reason is not None and "127.0.0.1:1" in reason


@pytest.mark.parametrize(("required", "outcome"), [("1", "1 failed"), ("", "1 skipped")])
def test_missing_postgres_fails_only_when_required(tmp_path: Path, required: str, outcome: str) -> None:
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_pg.py").write_text("def test_uses_postgres(postgres_url):\n    pass\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "FACILITY_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/test",
        "FACILITY_TEST_REQUIRE_POSTGRES": required,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in result.stdout, result.stdout + result.stderr
    if required:
        assert "FACILITY_TEST_REQUIRE_POSTGRES is set" in result.stdout


@pytest.mark.postgres
def test_make_test_runs_a_private_postgresql_when_none_answers() -> None:
    """`make test` on a machine without a running PostgreSQL: initdb on a free port, as a non-root
    user, the command sees it with the PostgreSQL tests made mandatory, and it is gone afterwards."""
    from tests.support.private_postgres import FORCE_ENV, _bin_dir

    if _bin_dir() is None:
        pytest.skip("Debian's postgresql is not installed (make test installs it)")
    probe = (
        "import os, psycopg\n"
        "url = os.environ['FACILITY_TEST_POSTGRES_URL']\n"
        "assert ':5432/' not in url and os.environ['FACILITY_TEST_REQUIRE_POSTGRES'] == '1'\n"
        "with psycopg.connect(url) as c: print(url, c.execute('SELECT current_database()').fetchone()[0])\n"
    )
    env = {**os.environ, FORCE_ENV: "1"}
    env.pop("FACILITY_TEST_POSTGRES_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.private_postgres", sys.executable, "-c", probe],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    url, database = done.stdout.split()
    assert database == "test" and "a private cluster on 127.0.0.1" in done.stderr
    assert postgres_unavailable(url) is not None  # stopped and removed
