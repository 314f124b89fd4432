"""Hourly rollups (issue 14): a long-range chart read from readings_hourly equals the same chart
computed from the raw history, including a partial first hour, readings not yet rolled up, and a
late reading in an hour already rolled up. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from agent.services.history import series
from agent.storage.db import create_db_engine, session_factory
from agent.storage.readings import write_readings
from agent.storage.rollups import LateHours, roll_up, rolled_until
from rules.reading import Reading


@pytest.fixture
def sessions(db_url):
    engine = create_db_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def points(session, start, end):  # type: ignore[no-untyped-def]
    got = series(session, subject="fridge-1", metric="temperature_c", start=start, end=end, step=7200)
    return [(p.t, p.min, p.max, round(p.mean, 9), p.count) for p in got.points]


def raw_points(session, start, end):  # type: ignore[no-untyped-def]
    session.execute(text("DELETE FROM readings_hourly"))
    out = points(session, start, end)
    session.rollback()
    return out


def test_rollups_give_the_same_chart_as_the_raw_history(sessions, clock) -> None:
    t0 = clock.now() - timedelta(days=3)
    readings = [Reading("fridge-1", "temperature_c", 3.0 + (i % 17) * 0.3, t0 + timedelta(minutes=10 * i)) for i in range(3 * 144)]
    readings.append(Reading("fridge-1", "door_state", "open", t0))
    late = LateHours()
    with sessions() as s:
        write_readings(s, readings)
        s.commit()
        start, end = t0 + timedelta(minutes=25), clock.now()
        before = points(s, start, end)
        assert roll_up(s, now=clock.now() - timedelta(hours=5)) > 0  # the last hours stay raw
        late.watermark = rolled_until(s)
        assert points(s, start, end) == before == raw_points(s, start, end)
        # A late reading in an hour already rolled up: noted by the hook, rebuilt by the next run.
        backlog = [Reading("fridge-1", "temperature_c", 11.0, t0 + timedelta(hours=10, minutes=5))]
        late(s, backlog)
        write_readings(s, backlog)
        s.commit()
        roll_up(s, now=clock.now(), dirty=late.take())
        after = points(s, start, end)
        assert after == raw_points(s, start, end)
        assert max(p[2] for p in after) == 11.0 and sum(p[4] for p in after) == sum(p[4] for p in before) + 1
