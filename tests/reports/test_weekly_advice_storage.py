"""The weekly advice from seeded storage, for what the end-to-end test can't make quickly: a printer
offline most of the week, the slowest-acknowledged equipment per team, and the week's bounds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from agent.reports.advice import AdviceSettings, build_advice, iso_week_bounds, last_week
from agent.reports.advice_render import advice_text
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, Equipment

START = datetime(2026, 2, 2, tzinfo=UTC)  # Monday of 2026-W06


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def alert(rule: str, subject: str, team: str, opened: datetime, *, ack: timedelta | None = None,
          resolved: timedelta | None = None) -> Alert:
    return Alert(rule_id=rule, subject=subject, subject_kind="equipment", status="resolved" if resolved else "open",
                 severity=2, team=team, since=opened, opened_at=opened, last_seen_at=opened, updated_at=opened,
                 acknowledged_at=opened + ack if ack else None, resolved_at=opened + resolved if resolved else None,
                 resolve_reason="cleared" if resolved else None)


def test_offline_share_and_slowest_acknowledgement(sessions: sessionmaker[Session]) -> None:
    h = timedelta(hours=1)
    with sessions() as s:
        s.add_all([
            Equipment(id="printer-2f", name="Printer 2F", kind="printer", team="it", updated_at=START),
            Equipment(id="ups-1", name="UPS 1", kind="ups", team="facilities", updated_at=START),
            Equipment(id="fridge-1", name="Fridge 1", kind="fridge", team="pharmacy", updated_at=START),
            # Printer: offline 30 h and silent 20 h, overlapping by 10 h → 40 h of 168 = 23.8 %.
            alert("equipment-offline.printer-2f", "printer-2f", "it", START + 10 * h, resolved=30 * h),
            alert("equipment-silent.printer-2f", "printer-2f", "it", START + 30 * h, resolved=20 * h),
            # Offline since before the week, for 12 h of it: 7.1 %, under the 10 % line.
            alert("equipment-offline.ups-1", "ups-1", "facilities", START - 5 * h, resolved=17 * h),
            # Acknowledgement times: fridge-1 median 40 min (pharmacy); ups-1 10 min (facilities).
            alert("fridge-temp", "fridge-1", "pharmacy", START + 50 * h, ack=timedelta(minutes=20), resolved=h),
            alert("fridge-temp", "fridge-1", "pharmacy", START + 60 * h, ack=timedelta(minutes=60), resolved=2 * h),
            alert("ups-battery", "ups-1", "facilities", START + 70 * h, ack=timedelta(minutes=10), resolved=h),
            alert("fridge-temp", "fridge-1", "pharmacy", START + 200 * h, ack=timedelta(minutes=1)),  # next week
        ])
        s.commit()
    with sessions() as s:
        advice = build_advice(s, week="2026-W06", timezone="UTC", rules=[], settings=AdviceSettings(offline_pct=10))
    assert [(o.equipment_id, o.offline, round(o.pct, 1)) for o in advice.offline] == [("printer-2f", 40 * h, 23.8)]
    assert [(a.team, a.equipment_id, a.median, a.alerts) for a in advice.slow_ack] == [
        ("facilities", "ups-1", timedelta(minutes=10), 1), ("pharmacy", "fridge-1", timedelta(minutes=40), 2)]
    text = advice_text(advice)
    assert "Printer 2F was offline or silent for 1 day 16 hours, 23.8 % of the week" in text
    assert "Team pharmacy: Fridge 1's alerts took longest to acknowledge, median 40 minutes over 2 alerts." in text


def test_iso_weeks_in_the_site_zone() -> None:
    start, end = iso_week_bounds("2026-W14", "Europe/London")  # the clocks went forward on 29 March
    assert (start, end) == (datetime(2026, 3, 29, 23, tzinfo=UTC), datetime(2026, 4, 5, 23, tzinfo=UTC))
    assert last_week(datetime(2026, 4, 6, 7, tzinfo=UTC), "Europe/London") == "2026-W14"
    with pytest.raises(ValueError, match="2026-W06"):
        iso_week_bounds("last week", "UTC")
