"""Fixtures for report tests: a real SMTP server with AUTH and STARTTLS, and the agent wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from agent.config import AgentConfig
from tests.agent.harness import config_from
from tests.inventory.harness import InventoryHarness
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.clock import FakeClock

SUPPLIES = [
    {"sku": "GLV-M", "name": "Gloves M", "unit": "box", "location": "Store A", "vendor": "Medline", "par": 40,
     "reorder_point": 15, "pack_size": 10, "lead_time_days": 3, "on_order": 10, "on_hand": 12},
    {"sku": "LIN-S", "name": "Sheets", "location": "Linen room", "vendor": "Acme Linen", "par": 100,
     "reorder_point": 30, "pack_size": 25, "lead_time_days": 2, "on_hand": 20},
    {"sku": "PPR-A4", "name": "Printer paper A4", "unit": "ream", "location": "Store A", "vendor": "Medline",
     "par": 50, "reorder_point": 10, "pack_size": 5, "lead_time_days": 2, "on_hand": 45},
]
RECIPIENTS = ["purchasing@st-marys.example", "supply-room@st-marys.example"]


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    server = SmtpServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def report_config(smtp: SmtpServer, db_url: str, **restock: object) -> AgentConfig:
    document = {
        "site": {"id": "st-marys-east", "name": "St Mary's East", "timezone": "Europe/London"},
        "database": {"url": db_url},
        "supplies": SUPPLIES,
        "notifications": {
            "smtp": smtp.smtp_settings(),
            "restock_report": {"recipients": RECIPIENTS, "at": "06:00", **restock},
            "weekly_summary": {"enabled": False},
            "coordinator_emails": ["coordinator@st-marys.example"],
        },
    }
    return config_from(yaml.safe_dump(document))


@pytest.fixture
def config(smtp: SmtpServer, db_url: str) -> AgentConfig:
    return report_config(smtp, db_url)


@pytest.fixture
def agent(config: AgentConfig, db_url: str, clock: FakeClock) -> Iterator[InventoryHarness]:
    h = InventoryHarness(config, db_url, clock)
    h.start()
    try:
        yield h
    finally:
        h.close()
