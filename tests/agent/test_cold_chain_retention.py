"""Retention (issue 14): cold-chain units' readings are kept three years by default; the rest
keep the history retention. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agent.catalog import build_subjects
from agent.cold_chain import cold_chain_units
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import ReadingHistory
from agent.storage.readings import prune_history, write_readings
from rules.reading import Reading
from tests.agent.harness import config_from

CONFIG = """
equipment:
  - {id: fridge-1, kind: fridge, tags: [cold-chain]}
  - {id: fridge-2, kind: fridge}
rules:
  - id: vaccine-cold-chain
    metric: temperature_c
    match: {kinds: [fridge], tags: [cold-chain]}
    cold_chain: {hot_above: 8, consecutive: 30m}
"""


@pytest.fixture
def sessions(db_url):
    engine = create_db_engine(db_url)
    yield session_factory(engine)
    engine.dispose()


def test_cold_chain_readings_outlive_the_history_retention(sessions, clock) -> None:
    config = config_from(CONFIG)
    assert config.database.cold_chain_retention >= timedelta(days=3 * 365)
    units = list(cold_chain_units(config, build_subjects(config)))
    assert units == ["fridge-1"]
    now = clock.now()
    ages = [1, 45, 400, 3 * 365 - 2, 3 * 365 + 10]
    with sessions() as s:
        write_readings(s, [Reading(f, "temperature_c", 5.0, now - timedelta(days=d)) for f in ("fridge-1", "fridge-2") for d in ages])
        s.commit()
        prune_history(
            s,
            older_than=now - config.database.history_retention,
            keep_subjects=units,
            keep_older_than=now - config.database.cold_chain_retention,
            batch=2,
        )
        kept = dict(s.execute(select(ReadingHistory.subject, func.count()).group_by(ReadingHistory.subject)).all())
    assert kept == {"fridge-1": 4, "fridge-2": 1}
