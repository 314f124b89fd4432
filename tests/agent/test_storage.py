"""Storage on both backends: latest values, history, pruning, the one-active-alert constraint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from agent.pipeline import Pipeline
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, LatestReading, ReadingHistory
from agent.storage.readings import prune_history, write_readings
from rules.engine import Engine
from rules.reading import Reading


@pytest.fixture
def sessions(db_url):
    engine = create_db_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def test_latest_never_moves_backward_and_history_keeps_all(sessions, clock) -> None:
    t0 = clock.now()
    with sessions() as s:
        write_readings(s, [Reading("ups-1", "ups.battery.charge_pct", 90.0, t0 + timedelta(minutes=2))])
        write_readings(
            s,
            [
                Reading("ups-1", "ups.battery.charge_pct", 95.0, t0),  # late arrival from a backlog
                Reading("ups-1", "ups.output.source", "battery", t0 + timedelta(minutes=1)),
            ],
        )
        s.commit()
    with sessions() as s:
        charge = s.get(LatestReading, ("ups-1", "ups.battery.charge_pct"))
        source = s.get(LatestReading, ("ups-1", "ups.output.source"))
        assert charge is not None and charge.value_num == 90.0 and charge.ts == t0 + timedelta(minutes=2)
        assert source is not None and source.value_text == "battery" and source.value_num is None
        assert s.scalar(select(func.count()).select_from(ReadingHistory)) == 3
        assert charge.ts.tzinfo is not None


def test_prune_removes_only_history_older_than_retention(sessions, clock) -> None:
    t0 = clock.now()
    with sessions() as s:
        write_readings(s, [Reading("f", "temperature_c", 5.0, t0 - timedelta(days=d)) for d in range(40)])
        s.commit()
        removed = prune_history(s, older_than=t0 - timedelta(days=30), batch=7)
        assert removed == 9
        assert s.scalar(select(func.count()).select_from(ReadingHistory)) == 31
        assert s.get(LatestReading, ("f", "temperature_c")) is not None


def test_only_one_active_alert_per_identity(sessions, clock) -> None:
    now = clock.now()
    row = dict(
        rule_id="r", subject="s", status="open", severity=2, since=now, last_seen_at=now, updated_at=now, message="", version=1
    )
    with sessions() as s:
        s.execute(insert(Alert).values(**{**row, "status": "resolved"}))
        s.execute(insert(Alert).values(**row))
        s.commit()
        with pytest.raises(IntegrityError):
            s.execute(insert(Alert).values(**row))
            s.commit()


def test_pipeline_stores_what_storage_accepts_when_one_reading_is_refused(db_url, sessions, clock) -> None:
    """A reading storage refuses for good (too long for its column on PostgreSQL) is counted; its
    neighbours in the same batch are still stored."""
    engine = create_db_engine(db_url)
    pipeline = Pipeline(engine=Engine([], {}), sessions=session_factory(engine), clock=clock.now, batch_size=100)
    pipeline.start()
    try:
        good = [Reading(f"fridge-{i}", "temperature_c", 4.0, clock.now()) for i in range(10)]
        bad = Reading("x" * 300, "temperature_c", 4.0, clock.now())
        pipeline.submit([*good[:5], bad, *good[5:]])
        pipeline.flush()
    finally:
        pipeline.stop()
        engine.dispose()
    with sessions() as s:
        subjects = set(s.scalars(select(ReadingHistory.subject)))
    assert {f"fridge-{i}" for i in range(10)} <= subjects
    if db_url.startswith("postgresql"):
        assert pipeline.stats["readings_refused_by_storage"] == 1


def test_submit_waits_when_queue_is_full_and_loses_nothing(sessions, db_url, clock) -> None:
    engine = create_db_engine(db_url)
    pipeline = Pipeline(engine=Engine([], {}), sessions=session_factory(engine), clock=clock.now, batch_size=50, queue_size=100)
    pipeline.start()
    try:
        for i in range(20):
            t0 = clock.now()
            pipeline.submit([Reading(f"s{i}", "count", float(k), t0 + timedelta(seconds=k)) for k in range(50)])
        pipeline.flush()
    finally:
        pipeline.stop()
        engine.dispose()
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ReadingHistory)) == 1000


def test_a_copy_of_a_stored_observation_is_skipped_and_its_neighbours_kept(sessions, db_url, clock) -> None:
    """An MQTT redelivery after a crash brings back a reading already stored (same subject,
    metric and timestamp from the payload): it is stored once; the new readings around it are."""
    engine = create_db_engine(db_url)
    pipeline = Pipeline(engine=Engine([], {}), sessions=session_factory(engine), clock=clock.now)
    pipeline.start()
    t0 = clock.now()
    first = [Reading("fridge-2", "temperature_c", 4.0 + k / 10, t0 + timedelta(seconds=k)) for k in range(5)]
    try:
        pipeline.submit(first)
        pipeline.flush()
        again = first[3:] + [Reading("fridge-2", "temperature_c", 5.0, t0 + timedelta(seconds=10))]
        pipeline.submit(again)
        pipeline.flush()
    finally:
        pipeline.stop()
        engine.dispose()
    with sessions() as s:
        rows = s.execute(select(ReadingHistory.value_num).order_by(ReadingHistory.ts)).scalars().all()
    assert rows == [4.0, 4.1, 4.2, 4.3, 4.4, 5.0]
    assert pipeline.stats["readings_refused_by_storage"] == 0


def test_a_reading_from_a_long_topic_is_stored_on_both_backends(sessions, clock) -> None:
    """The source ("mqtt:<topic>") is wider than its column for a long topic; PostgreSQL would
    refuse the row, so the source is cut to the column's width and the reading kept."""
    topic = "mqtt:facility/st-marys-general/equipment/vaccine-fridge-pharmacy-basement-2/temperature_c"
    with sessions() as s:
        write_readings(s, [Reading("vaccine-fridge-pharmacy-basement-2", "temperature_c", 4.5, clock.now(), source=topic)])
        s.commit()
    with sessions() as s:
        row = s.get(LatestReading, ("vaccine-fridge-pharmacy-basement-2", "temperature_c"))
        assert row is not None and row.value_num == 4.5 and topic.startswith(row.source) and len(row.source) == 60
        assert s.scalar(select(func.count()).select_from(ReadingHistory)) == 1
