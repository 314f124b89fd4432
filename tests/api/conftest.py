"""Fixtures for API tests: one migrated database per backend per module, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agent.storage.db import create_db_engine
from tests.api.stack import Stack
from tests.support.db import migrate, postgres_required, postgres_schema, postgres_unavailable

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def stack_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("api-db") / "facility.db"
        url = migrate(f"sqlite:///{path}")
        stack = Stack(url=url, db=create_db_engine(url))
        yield stack
        stack.close()
        return
    why = postgres_unavailable()
    if why:
        if postgres_required():
            pytest.fail(why)
        pytest.skip(why)
    with postgres_schema() as url:
        migrate(url)
        stack = Stack(url=url, db=create_db_engine(url))
        yield stack
        stack.close()


@pytest.fixture
def stack(stack_db: Stack) -> Iterator[Stack]:
    stack_db.reset()
    yield stack_db
    stack_db.stop()


@pytest.fixture
def client(stack: Stack) -> Iterator[TestClient]:
    with TestClient(stack.app, base_url="http://testserver") as c:
        yield c
