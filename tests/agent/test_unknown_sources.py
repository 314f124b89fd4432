"""Unknown sources: written in bulk (counts add up, the last payload wins), capped and pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import UnknownSource
from agent.unknown_sources import UnknownSourceLog

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.fixture
def sessions(db_url):  # type: ignore[no-untyped-def]
    engine = create_db_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def rows(sessions) -> dict[str, UnknownSource]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return {r.key: r for r in s.scalars(select(UnknownSource))}


def test_bulk_write_adds_counts_keeps_the_last_payload_and_caps_the_table(sessions) -> None:  # type: ignore[no-untyped-def]
    unknown = UnknownSourceLog(sessions, max_keys=1200, max_rows=1000)
    for i in range(1200):
        unknown.record("mqtt:t", f"topic/{i}", "1", T0 + timedelta(seconds=i))
    unknown.record("mqtt:t", "topic/1199", "2", T0 + timedelta(hours=1))
    unknown.record("mqtt:t", "topic/overflow", "x", T0)  # past max_keys: counted, not kept
    assert unknown.flush() == 1200 and unknown.overflow == 1 and unknown.inputs["mqtt"] == 1202
    stored = rows(sessions)
    assert len(stored) == 1000 and "topic/199" not in stored and "topic/200" in stored  # least recently seen went
    unknown.record("mqtt:t", "topic/1199", "3", T0 + timedelta(hours=2))
    unknown.flush()
    latest = rows(sessions)["topic/1199"]
    assert (latest.count, latest.last_payload, latest.first_seen, latest.last_seen) == (3, "3", T0 + timedelta(seconds=1199), T0 + timedelta(hours=2))


def test_sources_not_seen_for_the_retention_are_pruned(sessions) -> None:  # type: ignore[no-untyped-def]
    unknown = UnknownSourceLog(sessions)
    unknown.record("mqtt:t", "old", "1", T0 - timedelta(days=40))
    unknown.record("mqtt:t", "new", "1", T0)
    unknown.flush()
    assert unknown.prune(older_than=T0 - timedelta(days=30)) == 1
    assert set(rows(sessions)) == {"new"}
