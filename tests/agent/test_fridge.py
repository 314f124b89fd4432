"""The fridge test (issue 2): the real pipeline, real storage (SQLite and PostgreSQL), an injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent.services import alert_actions
from agent.services.errors import Conflict
from agent.storage.models import Alert, AlertEvent
from rules.alerts import TransitionKind
from tests.agent.harness import AgentHarness, config_from

CONFIG = """
site: {id: clinic, name: Riverside Clinic}
equipment:
  - {id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}
rules:
  - id: vaccine-fridge-temperature
    metric: temperature_c
    match: {kinds: [fridge]}
    outside: [2, 8]
    clear_inside: [2.5, 7.5]
    critical_outside: [0, 12]
    for: 5m
    team: pharmacy
alerting: {ack_recovery: 10m, builtin_rules: false}
"""


@pytest.fixture
def harness(db_url, clock):
    h = AgentHarness(config_from(CONFIG), db_url, clock)
    yield h
    h.close()


def feed(harness: AgentHarness, clock, t0, minute: float, value: float) -> None:
    from rules.reading import Reading

    clock.set(t0 + timedelta(minutes=minute))
    assert harness.pipeline is not None
    harness.pipeline.submit([Reading("fridge-2", "temperature_c", float(value), clock.now(), unit="°C", source="mqtt")])
    harness.pipeline.flush()
    harness.pipeline.tick(clock.now()).result(10)


def alerts(harness: AgentHarness) -> list[Alert]:
    with harness.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_fridge_excursions_ack_escalation_and_audit(harness: AgentHarness, clock) -> None:
    t0 = clock.now()
    harness.start()

    # A 4-minute excursion opens nothing.
    feed(harness, clock, t0, 0, 5.0)
    for minute in (1, 2, 3, 4):
        feed(harness, clock, t0, minute, 9.0)
    feed(harness, clock, t0, 5, 5.0)
    feed(harness, clock, t0, 10, 5.0)
    assert alerts(harness) == []

    # A longer one opens exactly one alert at the 5-minute mark, across a restart mid-excursion.
    feed(harness, clock, t0, 20, 9.1)
    feed(harness, clock, t0, 22, 9.1)
    harness.restart()
    feed(harness, clock, t0, 24, 9.1)
    feed(harness, clock, t0, 24.5, 9.2)
    assert [a.status for a in alerts(harness)] == ["pending"]
    feed(harness, clock, t0, 25, 9.2)
    rows = alerts(harness)
    assert len(rows) == 1 and rows[0].status == "open"
    assert rows[0].opened_at == t0 + timedelta(minutes=25)
    assert rows[0].message == "Fridge 2 in Pharmacy is at 9.2 °C (safe range 2–8 °C)"
    alert_id = rows[0].id
    harness.restart()
    feed(harness, clock, t0, 26, 9.3)
    assert len(alerts(harness)) == 1

    # Acknowledged, and the ack holds through a 1-minute dip back into range.
    clock.set(t0 + timedelta(minutes=27))
    alert_actions.acknowledge(harness.pipeline, alert_id=alert_id, actor="nurse.ann", comment="moving vaccines to fridge 1")
    with pytest.raises(Conflict):
        alert_actions.acknowledge(harness.pipeline, alert_id=alert_id, actor="porter.bob")
    feed(harness, clock, t0, 28, 5.0)
    feed(harness, clock, t0, 29, 9.0)
    assert alerts(harness)[0].status == "acknowledged"

    # Warning → critical notifies again even though acknowledged.
    harness.applied.clear()
    feed(harness, clock, t0, 31, 12.5)
    raised = [a.transition for a in harness.applied if a.transition.kind is TransitionKind.SEVERITY_RAISED]
    assert len(raised) == 1 and raised[0].notify
    assert alerts(harness)[0].severity == 3

    # Back in range: resolves once the ack recovery window has passed.
    for minute in (33, 35, 40):
        feed(harness, clock, t0, minute, 5.0)
    assert alerts(harness)[0].status == "acknowledged"
    feed(harness, clock, t0, 43, 5.0)
    final = alerts(harness)
    assert len(final) == 1 and final[0].status == "resolved" and final[0].resolve_reason == "cleared"
    assert final[0].worst_value == 12.5 and final[0].occurrences == 2

    # Every step is in the event log with its actor and time.
    with harness.sessions() as s:
        events = list(s.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)))
    steps = [(e.kind, e.actor, e.at - t0) for e in events]
    m = lambda x: timedelta(minutes=x)  # noqa: E731
    assert steps == [
        ("pending", "system", m(20)),
        ("opened", "system", m(25)),
        ("acknowledged", "nurse.ann", m(27)),
        ("recovering", "system", m(28)),
        ("relapsed", "system", m(29)),
        ("severity_raised", "system", m(31)),
        ("recovering", "system", m(33)),
        ("resolved", "system", m(43)),
    ]
    assert events[2].comment == "moving vaccines to fridge 1"
