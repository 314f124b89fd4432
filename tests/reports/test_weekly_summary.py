"""The weekly summary from a seeded month of history: alerts by equipment and team, time to
acknowledge and resolve, noisy and flapping rules, offline equipment, items that ran out, and the
suggested reorder point — with its arithmetic — for an item that ran out twice."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from agent.inventory.sync import sync_supplies
from agent.jobs.weekly import make_weekly_job
from agent.reports.weekly import build_weekly_summary, weekly_text
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, AlertEvent, Equipment, StockRecord
from tests.agent.harness import config_from
from tests.reports.conftest import report_config
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock

NOW = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)  # Monday 07:00 in London (GMT)
HISTORY_START = datetime(2026, 1, 3, tzinfo=UTC)  # 30 whole days before today

CONFIG = """
site: {id: st-marys-east, name: St Mary's East, timezone: Europe/London}
supplies:
  - {sku: GLV-M, name: Gloves M, unit: box, location: Ward 3, vendor: Medline, par: 60, reorder_point: 10,
     pack_size: 10, lead_time_days: 4}
  - {sku: PPR-A4, name: Printer paper A4, location: Store A, vendor: Staples, par: 50, reorder_point: 10,
     lead_time_days: 2}
"""


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def seed_gloves(session: Session) -> list[float]:
    """A month of gloves: 4 and 8 boxes on alternate days, restocked to 100 the day after running out
    (out on day 9 and on day 26).
    Returns what was used on each of the 30 days."""
    used: list[float] = []
    stock = 60.0
    session.add(StockRecord(sku="GLV-M", at=HISTORY_START - timedelta(days=2), source="config", previous=None,
                            value=stock, change="count"))
    for day in range(30):
        noon = HISTORY_START + timedelta(days=day, hours=12)
        if stock == 0:
            session.add(StockRecord(sku="GLV-M", at=noon - timedelta(hours=4), source="person", actor="sam",
                                    previous=0.0, value=100.0, change="restock"))
            stock = 100.0
        new = max(stock - (4 if day % 2 == 0 else 8), 0.0)
        session.add(StockRecord(sku="GLV-M", at=noon, source="mqtt", previous=stock, value=new, change="consumption"))
        used.append(stock - new)
        stock = new
    # This morning's count (after the last whole day) counts for running out, not for daily use.
    session.add(StockRecord(sku="GLV-M", at=NOW - timedelta(hours=1), source="mqtt", previous=stock,
                            value=max(stock - 1, 0), change="consumption"))
    return used


def add_alert(session: Session, *, rule: str, subject: str, team: str, opened: datetime,
              ack_after: timedelta | None = None, resolve_after: timedelta | None = None,
              occurrences: int = 1) -> Alert:
    alert = Alert(
        rule_id=rule, subject=subject, subject_kind="equipment", status="resolved" if resolve_after else "open",
        severity=2, team=team, message=f"{rule} on {subject}", since=opened, opened_at=opened,
        acknowledged_at=opened + ack_after if ack_after else None,
        resolved_at=opened + resolve_after if resolve_after else None,
        last_seen_at=opened, occurrences=occurrences, updated_at=opened,
    )
    session.add(alert)
    session.flush()
    return alert


def seed_alerts(session: Session) -> None:
    session.add_all([
        Equipment(id="fridge-pharmacy", name="Pharmacy fridge", kind="fridge", team="pharmacy", updated_at=NOW),
        Equipment(id="printer-2f", name="Printer 2F", kind="printer", team="facilities", updated_at=NOW),
        Equipment(id="ups-1", name="UPS 1", kind="ups", team="facilities", updated_at=NOW),
    ])
    week = NOW - timedelta(days=7)
    m = timedelta(minutes=1)
    for i, (ack, fix) in enumerate([(5, 60), (20, 180), (40, 300)]):
        fridge = add_alert(session, rule="fridge-temp-high", subject="fridge-pharmacy", team="pharmacy",
                           opened=week + timedelta(days=i + 1), ack_after=ack * m, resolve_after=fix * m, occurrences=3)
        if i == 1:
            session.add(AlertEvent(alert_id=fridge.id, at=fridge.since + 2 * m, kind="flapping", to_status="open",
                                   severity=2))
    add_alert(session, rule="printer-toner-low", subject="printer-2f", team="facilities",
              opened=week + timedelta(days=2), ack_after=10 * m, resolve_after=120 * m)
    add_alert(session, rule="equipment-offline.ups-1", subject="ups-1", team="facilities",
              opened=week + timedelta(days=3), resolve_after=timedelta(hours=6))
    add_alert(session, rule="equipment-offline.printer-2f", subject="printer-2f", team="facilities",
              opened=week + timedelta(days=4), ack_after=30 * m, resolve_after=timedelta(hours=1))
    # Before the week: in no count.
    add_alert(session, rule="fridge-temp-high", subject="fridge-pharmacy", team="pharmacy",
              opened=week - timedelta(days=3), ack_after=m, resolve_after=m)


def test_weekly_summary_from_a_seeded_month(sessions: sessionmaker[Session]) -> None:
    config = config_from(CONFIG)
    with sessions() as session:
        sync_supplies(session, config.supplies, site_id="st-marys-east", now=HISTORY_START - timedelta(days=2))
        used = seed_gloves(session)
        seed_alerts(session)
        session.commit()
    with sessions() as session:
        summary = build_weekly_summary(session, now=NOW, site_name="St Mary's East", timezone="Europe/London")

    assert summary.total_alerts == 6
    assert summary.by_equipment == [("fridge-pharmacy", "Pharmacy fridge", 3), ("printer-2f", "Printer 2F", 2),
                                    ("ups-1", "UPS 1", 1)]
    assert summary.by_team == [("facilities", 3), ("pharmacy", 3)]
    minutes = timedelta(minutes=1)
    assert summary.ack.count == 5
    assert summary.ack.median == 20 * minutes  # 5, 10, 20, 30, 40
    assert summary.ack.p90 == 40 * minutes
    assert summary.resolve.median == 150 * minutes  # 60, 60, 120 | 180, 300, 360
    assert summary.resolve.p90 == 360 * minutes
    assert summary.noisiest[0] == ("fridge-temp-high", 3, 9)
    assert [(f.rule_id, f.subject) for f in summary.flapping] == [("fridge-temp-high", "fridge-pharmacy")]
    assert [(o.equipment_id, o.total) for o in summary.offline] == [("ups-1", timedelta(hours=6)),
                                                                    ("printer-2f", timedelta(hours=1))]

    assert [(r.sku, r.times) for r in summary.ran_out] == [("GLV-M", 2)]
    [suggestion] = summary.suggestions
    mean, sigma = statistics.fmean(used), statistics.pstdev(used)
    expected = math.ceil(mean * 4 + 1.65 * sigma * 2)
    assert suggestion.sku == "GLV-M" and suggestion.suggested == expected and expected > 10
    text = weekly_text(summary)
    assert f"Raise the reorder point of Gloves M (GLV-M) from 10 to {expected}: it ran out 2 times." in text
    assert f"Daily use {mean:.1f} × lead time 4 days = {mean * 4:.1f}" in text
    assert f"safety stock = 1.65 × {sigma:.1f} (day-to-day variation) × √4 = {1.65 * sigma * 2:.1f}" in text
    assert f"rounded up to {expected}." in text
    assert "Rule fridge-temp-high flapped on fridge-pharmacy" in text
    assert "UPS 1 was offline for 6 hours" in text
    assert "Time to acknowledge: median 20 minutes, 90th percentile 40 minutes (5 alerts)" in text


def test_weekly_email_goes_to_the_coordinator_once(
    smtp: SmtpServer, db_url: str, sessions: sessionmaker[Session], clock: FakeClock
) -> None:
    config = report_config(smtp, db_url)
    config.notifications.weekly_summary.enabled = True
    clock.set(NOW)
    job = make_weekly_job(config=config, sessions=sessions, clock=clock)
    assert job.tick().action == "sent"
    clock.advance(timedelta(hours=3))
    assert job.tick().action == "done"
    clock.advance(timedelta(days=1))  # Tuesday: not the day
    assert job.tick().action == "not_due"
    [got] = smtp.messages()
    assert got.rcpt_tos == ["coordinator@st-marys.example"]
    # The last whole ISO week (2026-W05), so it matches /reports/weekly?week=2026-W05.
    assert got.message["Subject"] == "Weekly summary for St Mary's East, 2026-01-26 to 2026-02-01"
    assert got.message.get_body(preferencelist=("html",)) is not None
