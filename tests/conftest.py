"""Fixtures shared by every test: an isolated database on each backend, and a hand-driven clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.clock import FakeClock
from tests.support.db import (
    REQUIRE_POSTGRES_ENV,
    migrate,
    postgres_required,
    postgres_schema,
    postgres_unavailable,
    sqlite_file,
)


def require_postgres() -> None:
    """Skip (locally) or fail (when $FACILITY_TEST_REQUIRE_POSTGRES is set) if no server answers."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if postgres_required():
        pytest.fail(
            f"{reason} — and {REQUIRE_POSTGRES_ENV} is set, so PostgreSQL tests must run", pytrace=False
        )
    pytest.skip(f"{reason} (set {REQUIRE_POSTGRES_ENV}=1 to make this a failure)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    """The backend name, for tests that need to know it; use db_url to get a database."""
    return str(request.param)


@pytest.fixture
def db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database of its own for this test: once on SQLite, once on PostgreSQL."""
    if db_backend == "sqlite":
        with sqlite_file(tmp_path) as url:
            yield migrate(url)
        return
    require_postgres()
    with postgres_schema() as url:
        yield migrate(url)


@pytest.fixture
def empty_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet (for migration tests): once on SQLite, once on PostgreSQL."""
    if db_backend == "sqlite":
        with sqlite_file(tmp_path) as url:
            yield url
        return
    require_postgres()
    with postgres_schema() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A migrated SQLite database only, for tests that are about SQLite itself."""
    with sqlite_file(tmp_path) as url:
        yield migrate(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL schema only, for tests that are about PostgreSQL itself."""
    require_postgres()
    with postgres_schema() as url:
        yield migrate(url)


@pytest.fixture
def clock() -> FakeClock:
    """Aware-UTC time that moves only by clock.advance(delta) or clock.set(when); clock() is now()."""
    return FakeClock()
