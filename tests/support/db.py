"""Isolated databases for tests: a SQLite file, or a fresh PostgreSQL schema dropped afterwards.

PostgreSQL is found at $FACILITY_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
When no server answers, PostgreSQL tests skip, unless $FACILITY_TEST_REQUIRE_POSTGRES is set
(CI sets it): then a missing server fails them.

Each PostgreSQL test gets its own schema; the URL carries it as the connection's search_path
(`?options=-csearch_path%3D<schema>`) and as application_name, so teardown can end any
connection a test left open before dropping the schema.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

POSTGRES_URL_ENV = "FACILITY_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "FACILITY_TEST_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
SCHEMA_PREFIX = "fa_test_"


def postgres_base_url() -> str:
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _libpq_url(url: str) -> str:
    """psycopg wants plain postgresql://, not SQLAlchemy's postgresql+psycopg://."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


@functools.cache
def postgres_unavailable(url: str | None = None) -> str | None:
    """Why PostgreSQL can't be used (a sentence), or None when it answers. Checked once per URL."""
    import psycopg

    target = _libpq_url(url or postgres_base_url())
    try:
        with psycopg.connect(target, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {_redact(target)} did not answer: {first_line}"
    return None


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def with_schema(url: str, schema: str) -> str:
    """The URL with search_path and application_name set to schema (existing query kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("options", "application_name")]
    query += [("options", f"-csearch_path={schema}"), ("application_name", schema)]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


@contextmanager
def postgres_schema(base_url: str | None = None) -> Iterator[str]:
    """Create a uniquely named schema, yield a URL that uses it, then drop it with everything in it."""
    import psycopg

    base = base_url or postgres_base_url()
    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq_url(base), connect_timeout=5, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(base, schema)
    finally:
        with psycopg.connect(_libpq_url(base), connect_timeout=5, autocommit=True) as conn:
            # A connection the test leaked would hold locks and make DROP wait forever.
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (schema,),
            )
            conn.execute("SET lock_timeout = '30s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def sqlite_file(directory: Path, name: str = "facility.db") -> Iterator[str]:
    """A SQLite URL for a new file in directory (a pytest tmp_path, removed by pytest)."""
    path = directory / name
    yield f"sqlite:///{path}"


def migrate(url: str) -> str:
    """Bring the database at url to the newest schema; return url for chaining."""
    from agent.storage.migrate import upgrade

    upgrade(url)
    return url
