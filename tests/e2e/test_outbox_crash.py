"""kill -9 of the agent while its outbox holds notifications that could not go out (the webhook
receiver and the SMTP relay are down); after a restart with both back, each arrives exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import DeliveryAttempt, OutboxItem
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port, remove_session
from tests.support.wait import wait_until
from tests.support.webhook import WebhookReceiver

pytestmark = pytest.mark.slow
FRIDGES = ("fridge-1", "fridge-2", "fridge-3")


def config_text(tmp_path: Path, broker_port: int, hook_port: int, smtp: SmtpServer) -> str:
    equipment = "\n".join(f"  - {{id: {f}, name: {f}, kind: fridge, location: Pharmacy, team: pharmacy}}" for f in FRIDGES)
    return f"""
site: {{id: riverside, name: Riverside Clinic, timezone: Europe/London}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{enabled: false}}
mqtt: {{url: "mqtt://127.0.0.1:{broker_port}", client_id: agent-outbox-crash}}
equipment:
{equipment}
rules:
  - {{id: fridge-temp, metric: temperature_c, match: {{kinds: [fridge]}}, outside: [2, 8], severity: critical, team: pharmacy}}
teams:
  pharmacy:
    routes: [{{severities: [critical], channels: [pager, pharmacy-email]}}]
notifications:
  smtp: {json.dumps(smtp.smtp_settings())}
  channels:
    pager: {{type: webhook, url_env: TEST_PAGER_URL}}
    pharmacy-email: {{type: email, to: [pharmacy@riverside.example]}}
  delivery: {{retry_initial: 1s, retry_max: 2s, lease: 5s, poll_interval: 200ms}}
alerting: {{builtin_rules: false, tick_interval: 1s}}
"""


def test_kill_9_with_a_full_outbox_then_restart_delivers_each_exactly_once(tmp_path: Path) -> None:
    hooks = WebhookReceiver()  # not started: the receiver is down
    smtp = SmtpServer(tmp_path, port=free_port())  # not started either
    with Mosquitto(tmp_path / "mosquitto") as broker:
        config_path = tmp_path / "facility.yaml"
        config_path.write_text(config_text(tmp_path, broker.port, hooks.port, smtp))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
        env.update(TEST_PAGER_URL=hooks.url("/page"), TEST_SMTP_PASSWORD=PASSWORD)
        command = [sys.executable, "-m", "agent.cli", "--config", str(config_path), "run"]
        db = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")
        sessions = session_factory(db)
        publisher = QosPublisher(broker.port, "outbox-crash-publisher")

        def failed_attempts() -> int:
            try:
                with sessions() as s:
                    return int(s.scalar(select(func.count(func.distinct(DeliveryAttempt.outbox_id))).where(DeliveryAttempt.ok.is_(False))) or 0)
            except Exception:  # noqa: BLE001 - the database may not exist yet
                return -1

        procs: list[subprocess.Popen[str]] = []
        try:
            first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(first)

            def alerts_owed() -> bool:
                for f in FRIDGES:
                    publisher.publish(f"facility/riverside/equipment/{f}/temperature_c", b"11.5")
                return failed_attempts() >= 2 * len(FRIDGES)

            wait_until(alerts_owed, timeout=40, interval=0.5, what="every notification tried and failed")
            first.send_signal(signal.SIGKILL)
            first_out, _ = first.communicate(timeout=30)
            with sessions() as s:
                assert {r.state for r in s.scalars(select(OutboxItem))} == {"pending"}, first_out[-3000:]

            hooks.start()
            smtp.start()
            again = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(again)

            def all_sent() -> bool:
                with sessions() as s:
                    return {r.state for r in s.scalars(select(OutboxItem))} == {"sent"}

            wait_until(all_sent, timeout=40, what="every notification sent after the restart")
            publisher.publish("facility/riverside/equipment/fridge-1/temperature_c", b"11.7")  # one more round of work
            publisher.wait_acked()
            again.send_signal(signal.SIGTERM)
            second_out, _ = again.communicate(timeout=60)
            assert again.returncode == 0, second_out[-3000:]

            pages = Counter(p.body["alert"]["subject"] for p in hooks.received("/page"))
            assert pages == dict.fromkeys(FRIDGES, 1), pages
            mails = Counter(m.message["X-Facility-Notification"] for m in smtp.messages())
            assert len(mails) == len(FRIDGES) and set(mails.values()) == {1}, mails
            with sessions() as s:
                assert s.scalar(select(func.count()).select_from(OutboxItem)) == 2 * len(FRIDGES)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            publisher.close()
            hooks.stop()
            smtp.stop()
            db.dispose()
            remove_session(broker.port, "agent-outbox-crash")
