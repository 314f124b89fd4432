"""The whole agent (Runtime) with supplies and SMTP: started after 06:00 it catches up and sends the
day's restock email once; restarted, it sends nothing more. A count from a person then shows in the
next day's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.runtime import Runtime
from agent.services.supplies import list_restock_reports
from tests.reports.conftest import report_config
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


def test_runtime_catches_up_and_sends_once_across_a_restart(
    smtp: SmtpServer, db_url: str, clock: FakeClock, tmp_path: Path
) -> None:
    config = report_config(smtp, db_url)
    config.api.enabled = False
    config.database.data_dir = tmp_path / "data"
    clock.set(datetime(2026, 1, 6, 9, 30, tzinfo=UTC))
    with RunningAgent(Runtime(config, clock=clock, migrate=False).build()) as running:
        wait_until(lambda: len(smtp.messages()) == 1, 20, what="the catch-up restock email")
        sessions = running.runtime.sessions
        wait_until(lambda: [r.state for r in list_restock_reports(sessions)] == ["sent"], 10, what="state sent")
    clock.advance(timedelta(minutes=2))
    with RunningAgent(Runtime(config, clock=clock, migrate=False).build()) as running:
        report = running.runtime.scheduler.get_job("restock-report-check").func.__self__
        wait_until(lambda: report.last_outcome is not None, 20, what="the catch-up run")
        assert report.last_outcome.action == "done"
    assert len(smtp.messages()) == 1
    message = smtp.messages()[0].message
    assert message["Subject"] == "Restock list for St Mary's East, 2026-01-06: 2 items to order"
