"""The whole agent on an injected clock, through MQTT, a webhook receiver and aiosmtpd: a warning
on Friday evening is held, a critical alert at 02:00 on Saturday pages at once, and the warning
arrives in one digest email when clinic hours open on Monday."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from agent.config import load_config_text
from agent.runtime import Runtime
from agent.storage.models import OutboxItem
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.clock import FakeClock
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.slow
LONDON = ZoneInfo("Europe/London")


def config(tmp_path: Path, broker: int, pager: WebhookReceiver, smtp: SmtpServer) -> str:
    s = smtp.smtp_settings()
    return f"""
site: {{id: riverside, name: Riverside Clinic, timezone: Europe/London}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{enabled: false}}
mqtt: {{url: "mqtt://127.0.0.1:{broker}", client_id: agent-clinic-hours}}
equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
  - {{id: printer-1, name: Printer 1, kind: printer, location: Front desk, team: pharmacy}}
rules:
  - {{id: fridge-temp, metric: temperature_c, match: {{kinds: [fridge]}}, outside: [2, 8], severity: critical, team: pharmacy}}
  - {{id: toner-low, metric: toner.black.pct, match: {{kinds: [printer]}}, below: 10, severity: warning, team: pharmacy}}
teams:
  pharmacy:
    routes:
      - {{severities: [critical], channels: [pager], window: always}}
      - {{severities: [warning, info], channels: [pharmacy-email], window: clinic_hours}}
notifications:
  smtp: {{host: 127.0.0.1, port: {s["port"]}, security: starttls, username: {s["username"]}, password_env: TEST_SMTP_PASSWORD, ca_file: "{s["ca_file"]}"}}
  windows: {{clinic_hours: "mon-fri 07:00-19:00"}}
  channels:
    pager: {{type: webhook, url: "{pager.url("/page")}"}}
    pharmacy-email: {{type: email, to: [pharmacy@riverside.example]}}
  delivery: {{poll_interval: 100ms}}
alerting: {{builtin_rules: false}}
"""


def test_held_overnight_paged_at_once_digest_on_monday(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    smtp = SmtpServer(tmp_path).start()
    pager = WebhookReceiver().start()
    clock = FakeClock(datetime(2026, 12, 4, 19, 30, tzinfo=LONDON))
    with Mosquitto(tmp_path / "mosquitto") as broker:
        runtime = Runtime(load_config_text(config(tmp_path, broker.port, pager, smtp), environ={}), clock=clock).build()
        publisher = QosPublisher(broker.port, "clinic-hours-publisher")

        def rows(state: str) -> int:
            with runtime.sessions() as s:
                return len(s.scalars(select(OutboxItem).where(OutboxItem.state == state)).all())

        try:
            with RunningAgent(runtime):
                wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
                clock.set(datetime(2026, 12, 4, 20, 0, tzinfo=LONDON))
                publisher.publish("facility/riverside/equipment/printer-1/toner.black.pct", b"5")
                publisher.wait_acked()
                wait_until(lambda: rows("held") == 1, timeout=20, what="toner warning held")

                clock.set(datetime(2026, 12, 5, 2, 0, tzinfo=LONDON))
                publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", b"12")
                publisher.wait_acked()
                (page,) = wait_until(lambda: pager.received("/page"), timeout=20, what="on-call paged")
                assert page.body["alert"]["subject"] == "fridge-2"
                assert smtp.messages() == [] and rows("held") == 1

                clock.set(datetime(2026, 12, 7, 7, 0, tzinfo=LONDON))
                (digest,) = wait_until(lambda: smtp.messages(), timeout=20, what="Monday digest")
                text = digest.message.get_body(preferencelist=("plain",)).get_content()
                assert "Digest" in digest.message["Subject"] and "OPEN: [warning]" in text and "Printer 1" in text
                wait_until(lambda: rows("pending") == 0, timeout=20, what="digest marked sent")
            assert len(smtp.messages()) == 1 and len(pager.received()) == 1
        finally:
            publisher.close()
            pager.stop()
            smtp.stop()
            remove_session(broker.port, "agent-clinic-hours")
