"""The migrations and the models describe the same schema, so a future `alembic revision
--autogenerate` never proposes dropping an index the queue depends on (or adding one twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select

from agent.storage.db import create_db_engine
from agent.storage.migrate import upgrade
from agent.storage.models import Base, ReadingHistory


def test_a_migrated_database_matches_the_models(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        if engine.dialect.name == "sqlite":
            differences = _without_sqlite_sort_order(differences)
    finally:
        engine.dispose()
    assert differences == [], "models.py and the migrations disagree; write a migration:\n" + "\n".join(
        map(str, differences)
    )


def _without_sqlite_sort_order(differences: list[Any]) -> list[Any]:
    """SQLite's reflection drops DESC from an index column, so alembic sees `severity DESC` in the
    models and `severity` in the database and proposes dropping and re-adding the index. Such a
    pair, with the same name and the same column names, is not a difference."""

    def names(index: Any) -> list[str]:
        return [str(e).split()[0].strip('"').split(".")[-1] for e in index.expressions]

    removed = {d[1].name: d[1] for d in differences if d[0] == "remove_index"}
    added = {d[1].name: d[1] for d in differences if d[0] == "add_index"}
    same = {n for n in removed.keys() & added.keys() if names(removed[n]) == names(added[n])}
    return [d for d in differences if not (d[0] in ("remove_index", "add_index") and d[1].name in same)]


def test_migration_0003_keeps_one_row_of_each_observation_stored_twice(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0002")
    engine = create_db_engine(empty_db_url)
    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    row = {"subject": "fridge-2", "metric": "temperature_c", "value_num": 4.0, "unit": "°C", "source": "mqtt"}
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(ReadingHistory),
                [{**row, "ts": at}, {**row, "ts": at}, {**row, "ts": at + timedelta(seconds=1)}],
            )
        upgrade(empty_db_url)
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ReadingHistory)) == 2
    finally:
        engine.dispose()
