"""`facility-agent weekly-summary [--week] [--send]`: a bad week is refused with the reason; no
recipients is an error for --send; without --send it only prints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from agent.cli import main
from tests.reports.conftest import SUPPLIES
from tests.reports.smtp_server import SmtpServer


def write_config(tmp_path: Path, db_url: str, smtp: SmtpServer, recipients: list[str]) -> Path:
    document = {
        "site": {"id": "st-marys-east", "name": "St Mary's East", "timezone": "Europe/London"},
        "database": {"url": db_url},
        "supplies": SUPPLIES,
        "notifications": {"smtp": smtp.smtp_settings(), "weekly_summary": {"recipients": recipients}},
    }
    path = tmp_path / "facility.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_week_errors_and_printing(tmp_path: Path, db_url: str, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, db_url, smtp, [])
    assert main(["--config", str(path), "weekly-summary", "--week", "last"]) == 2
    assert "--week: week must look like 2026-W06, got 'last'" in capsys.readouterr().err
    assert main(["--config", str(path), "weekly-summary", "--week", "2026-W05"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Weekly summary for St Mary's East, 2026-01-26 to 2026-02-01")
    assert "What to change (2026-W05):" in out and "nothing this week" in out
    assert main(["--config", str(path), "weekly-summary", "--week", "2026-W05", "--send"]) == 2
    assert "no recipients" in capsys.readouterr().err
    assert smtp.messages() == []
