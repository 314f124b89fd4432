"""SMTP down at the scheduled time: the restock report is retried and goes out once, when the relay is back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.faults.agent_process import AgentProcess
from tests.reports.conftest import SUPPLIES
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


def midday_zone() -> str:
    """A fixed-offset zone where it is now about noon, so a 06:00 report is due whenever the test runs."""
    offset = 12 - datetime.now(UTC).hour  # -11 .. +12
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # the Etc/GMT sign is inverted


def test_smtp_down_at_the_scheduled_time_report_goes_out_once_when_back(tmp_path: Path) -> None:
    smtp = SmtpServer(tmp_path)  # its port is chosen, nothing listens on it yet
    document = {
        "site": {"id": "st-marys-east", "name": "St Mary's East", "timezone": midday_zone()},
        "database": {"data_dir": str(tmp_path / "data")},
        "api": {"enabled": False},
        "supplies": SUPPLIES,
        "notifications": {
            "smtp": smtp.smtp_settings(timeout="2s"),
            "restock_report": {"recipients": ["purchasing@st-marys.example"], "at": "06:00", "retry_after": "2s"},
            "weekly_summary": {"enabled": False},
        },
    }
    config = tmp_path / "facility.yaml"
    config.write_text(yaml.safe_dump(document))
    agent = AgentProcess(config, tmp_path / "agent.log", {"TEST_SMTP_PASSWORD": PASSWORD})
    db = create_engine(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")

    def claim() -> tuple[str, int] | None:
        with db.connect() as conn:
            row = conn.execute(text("SELECT state, attempts FROM job_claims WHERE job = 'restock-report'")).first()
            return (row[0], row[1]) if row else None

    try:
        agent.start()
        # Due at start (catch-up); the relay refuses the connection: the claim waits for a retry.
        wait_until(lambda: (c := claim()) is not None and c[0] == "retrying", 120, 0.2, "a failed first attempt")
        wait_until(lambda: "restock-report" in agent.output() and "Connection refused" in agent.output(), 60, 0.2, "logged")
        assert smtp.messages() == []
        smtp.start()
        wait_until(lambda: len(smtp.messages()) == 1, 120, 0.2, "the report once the relay is back")
        wait_until(lambda: claim() == ("sent", claim()[1]) and claim()[1] >= 2, 60, 0.2, "claim sent")  # type: ignore[index]
        assert agent.stop() == 0, agent.tail()
        # A restart finds the day's claim sent and sends nothing more.
        agent.start()
        wait_until(lambda: agent.output().count("facility-agent running") >= 2, 120, 0.2, "second run started")
        assert agent.stop() == 0, agent.tail()
        assert len(smtp.messages()) == 1
        received = smtp.messages()[0]
        assert received.rcpt_tos == ["purchasing@st-marys.example"] and received.tls
        assert received.message["Subject"].startswith("Restock list for St Mary's East")
    finally:
        if agent.alive():
            agent.kill9()
        smtp.stop()
        db.dispose()
