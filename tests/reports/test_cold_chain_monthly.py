"""The monthly cold-chain report (issue 14): each unit's PDF for the previous month goes to its
team once, on the 1st at 07:00 local time, and not again after a restart. Real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import yaml

from agent.catalog import build_subjects
from agent.jobs.cold_chain_monthly import job_name, make_unit_job
from agent.storage.db import create_db_engine, session_factory
from agent.storage.readings import write_readings
from rules.reading import Reading
from tests.agent.harness import config_from
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock


def test_monthly_report_once_per_unit_and_month(smtp: SmtpServer, db_url: str) -> None:
    config = config_from(
        yaml.safe_dump(
            {
                "site": {"id": "st-marys", "name": "St Mary's", "timezone": "Europe/London"},
                "database": {"url": db_url},
                "equipment": [{"id": "fridge-1", "name": "Vaccine fridge", "kind": "fridge", "team": "pharmacy"}],
                "teams": {"pharmacy": {"emails": ["pharmacy@st-marys.example"]}},
                "rules": [
                    {"id": "vaccine-cold-chain", "metric": "temperature_c", "match": {"kinds": ["fridge"]},
                     "cold_chain": {"hot_above": 8, "cold_below": 2, "consecutive": "30m"}}
                ],
                "notifications": {"smtp": smtp.smtp_settings(), "restock_report": {"enabled": False},
                                  "weekly_summary": {"enabled": False}},
            }
        )
    )
    db = create_db_engine(db_url)
    sessions = session_factory(db)
    with sessions() as s:
        start = datetime(2026, 11, 1, tzinfo=UTC)
        write_readings(s, [Reading("fridge-1", "temperature_c", 4.0 + (i % 3), start + timedelta(hours=i)) for i in range(720)])
        s.commit()
    clock = FakeClock(datetime(2026, 12, 1, 6, 59, tzinfo=UTC))  # London is on GMT in December
    subject = build_subjects(config)["fridge-1"]
    job = make_unit_job(config=config, sessions=sessions, clock=clock, subject=subject)
    assert job.job == job_name("fridge-1")
    assert job.tick().action == "not_due"
    clock.set(datetime(2026, 12, 1, 7, 0, tzinfo=UTC))
    assert job.tick().action == "sent"
    assert job.tick().action == "done"
    # After a restart (a new job object) later that month: still done, no second email.
    clock.set(datetime(2026, 12, 15, 9, 0, tzinfo=UTC))
    again = make_unit_job(config=config, sessions=sessions, clock=clock, subject=subject)
    assert again.tick().action == "done"
    (received,) = smtp.messages()
    assert received.rcpt_tos == ["pharmacy@st-marys.example"]
    assert "2026-11" in received.message["Subject"] and "Vaccine fridge" in received.message["Subject"]
    (pdf,) = [part for part in received.message.iter_attachments()]
    assert pdf.get_filename() == "fridge-1-2026-11.pdf"
    assert pdf.get_content().startswith(b"%PDF")
    # January sends December's.
    clock.set(datetime(2027, 1, 1, 7, 30, tzinfo=UTC))
    assert again.tick().action == "sent"
    assert "2026-12" in smtp.messages()[-1].message["Subject"]
    db.dispose()
