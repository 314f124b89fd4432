"""The migrations and the models describe the same schema, so a future `alembic revision
--autogenerate` never proposes dropping an index the queue depends on (or adding one twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select

from agent.storage.db import create_db_engine
from agent.storage.migrate import include_object_for, upgrade
from agent.storage.models import Base, ReadingHistory


def test_a_migrated_database_matches_the_models(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "include_object": include_object_for(engine.dialect.name)}
            differences = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models.py and the migrations disagree; write a migration:\n" + "\n".join(
        map(str, differences)
    )


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
