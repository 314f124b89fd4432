"""Cold chain through the real pipeline and storage (SQLite and PostgreSQL), injected clock:
excursion records kept even without an alert, across a restart and a late backlog;
require_comment refuses a bare ack/resolve; the resolve answers land in the events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.cold_chain import load_excursions, wire
from agent.services import alert_actions
from agent.services.errors import Invalid
from agent.storage.models import Alert, AlertEvent, ExcursionRecord
from rules.reading import Reading
from tests.agent.harness import AgentHarness, config_from

CONFIG = """
site: {id: clinic, name: Riverside Clinic}
equipment:
  - {id: fridge-1, name: Vaccine fridge, kind: fridge, location: Pharmacy, team: pharmacy, tags: [cold-chain]}
rules:
  - id: vaccine-cold-chain
    metric: temperature_c
    match: {kinds: [fridge], tags: [cold-chain]}
    cold_chain: {hot_above: 8, cold_below: 2, consecutive: 30m, cumulative: {limit: 60m, window: 24h}}
    require_comment: [ack, resolve]
    team: pharmacy
alerting: {builtin_rules: false}
"""


class ColdHarness(AgentHarness):
    def start(self):  # type: ignore[no-untyped-def]
        pipeline = super().start()
        from agent.catalog import build_subjects

        wire(self.config, build_subjects(self.config), pipeline)
        return pipeline


@pytest.fixture
def harness(db_url, clock):
    h = ColdHarness(config_from(CONFIG), db_url, clock)
    yield h
    h.close()


def feed(h: AgentHarness, clock, t0, minutes, value: float) -> None:
    assert h.pipeline is not None
    batch = [Reading("fridge-1", "temperature_c", float(value), t0 + timedelta(minutes=m), unit="°C") for m in minutes]
    clock.set(max(clock.now(), batch[-1].ts))
    h.pipeline.submit(batch)
    h.pipeline.flush()
    h.pipeline.tick(clock.now()).result(10)


def records(h: AgentHarness) -> list[tuple[timedelta, float, str]]:
    with h.sessions() as s:
        rows = s.scalars(select(ExcursionRecord).order_by(ExcursionRecord.start_at))
        return [((r.end_at or r.last_at) - r.start_at, r.extreme, r.side) for r in rows]


def test_records_alerts_and_comments(harness: ColdHarness, clock) -> None:
    t0 = clock.now()
    harness.start()
    feed(harness, clock, t0, range(0, 10), 5.0)
    feed(harness, clock, t0, range(10, 30), 9.0)  # 20 minutes: a record, no alert
    feed(harness, clock, t0, range(30, 40), 5.0)
    feed(harness, clock, t0, range(40, 45), 1.0)  # cold, 5 minutes
    feed(harness, clock, t0, range(45, 50), 5.0)
    assert records(harness) == [(timedelta(minutes=20), 9.0, "hot"), (timedelta(minutes=5), 1.0, "cold")]
    with harness.sessions() as s:
        assert [(a.rule_id, a.status) for a in s.scalars(select(Alert))] == []
        assert len(load_excursions(s, "fridge-1", t0, t0 + timedelta(hours=1))) == 2

    # A long one, with a restart in the middle: one record, one consecutive alert.
    feed(harness, clock, t0, range(50, 70), 9.5)
    harness.restart()
    feed(harness, clock, t0, range(70, 90), 10.5)
    with harness.sessions() as s:
        alerts = {a.rule_id: a for a in s.scalars(select(Alert))}
    assert alerts["vaccine-cold-chain"].status == "open"
    assert records(harness)[-1] == (timedelta(minutes=39), 10.5, "hot")
    # 20 + 5 (cold counts too) + 40 so far > 60: the cumulative alert is open as well.
    assert alerts["vaccine-cold-chain.cumulative"].status == "open"

    # A backlog replaying stored observations changes nothing; a new old reading adds its excursion.
    feed(harness, clock, t0, [12, 13], 9.0)
    assert [r[0] for r in records(harness)][:2] == [timedelta(minutes=20), timedelta(minutes=5)]
    feed(harness, clock, t0, [31.5], 9.0)
    assert [r[0] for r in records(harness)][:3] == [timedelta(minutes=20), timedelta(seconds=30), timedelta(minutes=5)]

    alert_id = alerts["vaccine-cold-chain"].id
    assert harness.pipeline is not None
    with pytest.raises(Invalid) as refused:
        alert_actions.acknowledge(harness.pipeline, alert_id=alert_id, actor="sam", comment="  ")
    assert refused.value.field == "comment"
    alert_actions.acknowledge(harness.pipeline, alert_id=alert_id, actor="sam", comment="Moved vaccines to fridge 2")
    with pytest.raises(Invalid) as refused:
        alert_actions.resolve(harness.pipeline, alert_id=alert_id, actor="sam", reason="fixed")
    assert refused.value.field == "comment"
    alert_actions.resolve(
        harness.pipeline, alert_id=alert_id, actor="sam", reason="fixed", comment="Door seal replaced",
        actions=["moved_stock", "quarantined_stock"], stock_affected="unknown",
    )
    with harness.sessions() as s:
        events = s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)).all()
    kinds = [(e.kind, e.actor, e.comment) for e in events]
    assert ("acknowledged", "sam", "Moved vaccines to fridge 2") in kinds
    answers = [e for e in events if e.kind == "corrective-action"]
    assert answers[0].details == {"actions": ["moved_stock", "quarantined_stock"], "stock_affected": "unknown"}
