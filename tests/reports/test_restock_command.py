"""`facility-agent restock-report [--send] [--date]`: prints the list; --send emails it now, once per day's claim."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from agent.cli import main
from agent.inventory.sync import sync_supplies
from agent.jobs.restock import make_restock_job
from agent.services.supplies import list_restock_reports
from agent.storage.db import create_db_engine, session_factory
from tests.reports.conftest import SUPPLIES, report_config
from tests.reports.smtp_server import SmtpServer
from tests.support.clock import FakeClock


@pytest.fixture
def config_path(smtp: SmtpServer, db_url: str, tmp_path: Path) -> Path:
    config = report_config(smtp, db_url)
    engine = create_db_engine(db_url)
    with session_factory(engine)() as session:
        sync_supplies(session, config.supplies, site_id=config.site.id, now=datetime(2026, 1, 5, tzinfo=UTC))
        session.commit()
    engine.dispose()
    document = {
        "site": {"id": "st-marys-east", "name": "St Mary's East", "timezone": "Europe/London"},
        "database": {"url": db_url},
        "supplies": SUPPLIES,
        "notifications": {"smtp": smtp.smtp_settings(), "restock_report": {"recipients": ["purchasing@example.org"]}},
    }
    path = tmp_path / "facility.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_prints_the_list(config_path: Path, capsys: pytest.CaptureFixture[str], smtp: SmtpServer) -> None:
    assert main(["--config", str(config_path), "restock-report", "--date", "2026-01-06"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Restock list for St Mary's East, 2026-01-06")
    assert "GLV-M" in out and "order 20 (2 × 10)" in out
    assert "PPR-A4" not in out  # 45 on hand, reorder at 10
    assert smtp.messages() == []
    assert main(["--config", str(config_path), "restock-report", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["sku"]: r["order_quantity"] for r in rows} == {"LIN-S": "100", "GLV-M": "20"}


def test_send_takes_the_days_claim_so_the_nightly_job_does_not_repeat_it(
    config_path: Path, capsys: pytest.CaptureFixture[str], smtp: SmtpServer, db_url: str, clock: FakeClock
) -> None:
    assert main(["--config", str(config_path), "restock-report", "--send", "--date", "2026-01-06"]) == 0
    assert len(smtp.messages()) == 1
    assert "2026-01-06" in smtp.messages()[0].message["Subject"]
    engine = create_db_engine(db_url)
    sessions = session_factory(engine)
    try:
        config = report_config(smtp, db_url)
        clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))
        assert make_restock_job(config=config, sessions=sessions, clock=clock).tick().action == "done"
        assert len(smtp.messages()) == 1
        # A person may still send it again on purpose; that is recorded on the day's report.
        assert main(["--config", str(config_path), "restock-report", "--send", "--date", "2026-01-06"]) == 0
        assert len(smtp.messages()) == 2
        [report] = list_restock_reports(sessions)
        assert (report.state, report.attempts, len(report.details["manual_sends"])) == ("sent", 2, 1)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_bad_date_and_send_failures_exit_non_zero(
    config_path: Path, capsys: pytest.CaptureFixture[str], smtp: SmtpServer
) -> None:
    assert main(["--config", str(config_path), "restock-report", "--date", "06/01/2026"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    smtp.stop()
    assert main(["--config", str(config_path), "restock-report", "--send", "--date", "2026-01-07"]) == 1
    assert "can't reach SMTP server" in capsys.readouterr().err
