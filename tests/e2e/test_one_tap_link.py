"""One-tap acknowledgement end to end: a fridge reading over MQTT opens an alert, the email
(received by aiosmtpd) carries a link, a real browser follows it: confirm page, acknowledge, the
alert's history names the recipient, the alert page shows who is on call with a tel: link and
the queue who is reachable; the same link again says "already used"; a link with one
character changed says "not valid". A silence made over HTTP holds another fridge's email.
Users and tokens are made with the CLI; nothing writes the database directly."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from agent.config import load_config
from agent.runtime import Runtime
from agent.storage.models import OutboxItem
from tests.api.test_browser import ARGS, ARTIFACTS, CHROMIUM
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port, remove_session
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]
USER_PASSWORD = "correct-horse-battery"


def write_config(tmp_path: Path, broker: int, api: int, smtp: SmtpServer) -> Path:
    s = smtp.smtp_settings()
    path = tmp_path / "facility.yaml"
    path.write_text(f"""
site: {{id: riverside, name: Riverside Clinic, timezone: Europe/London, public_base_url: "http://127.0.0.1:{api}"}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{host: 127.0.0.1, port: {api}, session_secret_env: TEST_SESSION_SECRET}}
mqtt: {{url: "mqtt://127.0.0.1:{broker}", client_id: agent-one-tap}}
equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
  - {{id: fridge-3, name: Fridge 3, kind: fridge, location: Ward 4, team: pharmacy}}
rules:
  - {{id: fridge-temp, metric: temperature_c, match: {{equipment: [fridge-2]}}, outside: [2, 8], severity: critical, team: pharmacy}}
  - {{id: ward-fridge-temp, metric: temperature_c, match: {{equipment: [fridge-3]}}, outside: [2, 8], severity: critical, team: pharmacy}}
teams:
  pharmacy:
    routes: [{{severities: [critical], channels: [pharmacy-email]}}]
    contacts:
      - {{name: Priya Shah, role: pharmacist, phone: "+44 20 7946 0001", email: priya@riverside.example, account: priya}}
      - {{name: Omar Reyes, role: pharmacy technician, phone: "+44 20 7946 0002"}}
    on_call:
      - {{who: Priya Shah, from: "2000-01-01T00:00", to: "2100-01-01T00:00"}}
notifications:
  smtp: {{host: 127.0.0.1, port: {s["port"]}, security: starttls, username: {s["username"]}, password_env: TEST_SMTP_PASSWORD, ca_file: "{s["ca_file"]}", sender: agent@riverside.example}}
  channels:
    pharmacy-email: {{type: email, to: [priya@riverside.example]}}
  delivery: {{poll_interval: 200ms}}
alerting: {{builtin_rules: false}}
""")
    return path


def silenced_rows(runtime: Runtime) -> int:
    with runtime.sessions() as s:  # reading storage to wait on; nothing is written here
        return len(s.scalars(select(OutboxItem).where(OutboxItem.state == "silenced")).all())


def test_follow_a_one_tap_link_from_an_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("TEST_SESSION_SECRET", "e2e-session-secret-0123456789abcdef")
    smtp = SmtpServer(tmp_path).start()
    api_port = free_port()
    with Mosquitto(tmp_path / "mosquitto") as broker:
        config_path = write_config(tmp_path, broker.port, api_port, smtp)
        (tmp_path / "pw").write_text(USER_PASSWORD)
        env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
        cli = [sys.executable, "-m", "agent.cli", "--config", str(config_path)]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, text=True, timeout=60)
        subprocess.run(
            [*cli, "user", "add", "priya", "--role", "staff", "--name", "Priya Shah", "--password-file", str(tmp_path / "pw")],
            env=env, check=True, capture_output=True, text=True, timeout=60,
        )
        subprocess.run([*cli, "user", "add", "coord", "--role", "coordinator", "--password-file", str(tmp_path / "pw")], env=env, check=True, capture_output=True, text=True, timeout=60)
        made = subprocess.run([*cli, "token", "create", "--user", "coord", "--name", "e2e"], env=env, check=True, capture_output=True, text=True, timeout=60)
        coordinator_token = made.stdout.split()[0]
        runtime = Runtime(load_config(config_path, environ={})).build()
        publisher = QosPublisher(broker.port, "one-tap-publisher")
        base = f"http://127.0.0.1:{api_port}"
        try:
            with RunningAgent(runtime):
                wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
                # A silence (made over HTTP) holds the email for fridge-3: the outbox says so, nothing is sent.
                silence = httpx.post(
                    f"{base}/api/v1/silences",
                    json={"rule_id": "ward-fridge-temp", "duration_minutes": 60, "comment": "defrosting"},
                    headers={"Authorization": f"Bearer {coordinator_token}"},
                )
                assert silence.status_code == 201, silence.text
                publisher.publish("facility/riverside/equipment/fridge-3/temperature_c", b"11.0")
                publisher.wait_acked()
                wait_until(lambda: silenced_rows(runtime) == 1, timeout=30, what="fridge-3 notification silenced")
                publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", b"11.5")
                publisher.wait_acked()
                mail = wait_until(lambda: smtp.messages(), timeout=30, what="alert email received")[0]
                assert "Fridge 2" in mail.message["Subject"]
                text = mail.message.get_body(preferencelist=("plain",)).get_content()
                link = re.search(r"http://127\.0\.0\.1:\d+/ack/\S+", text)
                assert link, text
                url = link.group(0)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                    page = browser.new_page(viewport={"width": 390, "height": 844})
                    page.goto(url)
                    assert "Acknowledge alert #2?" in page.inner_text("h1")
                    assert "Priya Shah" in page.inner_text("main")
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "one-tap-confirm.png"), full_page=True)
                    page.click("button[type=submit]")
                    page.wait_for_selector("[data-status=done]")
                    assert "Acknowledged" in page.inner_text("h1")

                    page.goto(url)
                    assert "already used" in page.inner_text("h1")
                    token = url.rsplit("/", 1)[1]
                    changed = token[:5] + ("x" if token[5] != "x" else "y") + token[6:]
                    page.goto(f"{base}/ack/{changed}")
                    assert "not valid" in page.inner_text("h1")

                    page.goto(f"{base}/login")
                    page.fill("input[name=username]", "priya")
                    page.fill("input[name=password]", USER_PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url(f"{base}/")
                    page.goto(f"{base}/alerts/2")
                    history = page.inner_text("#history")
                    assert "Priya Shah acknowledged via link sent to priya@riverside.example" in history, history
                    # Who to call: the team's on-call person, with a tap-to-call link
                    assert "On call now" in page.inner_text("#who-to-call")
                    assert page.get_attribute("#who-to-call a.tel", "href") == "tel:+442079460001"
                    page.screenshot(path=str(ARTIFACTS / "alert-who-to-call.png"), full_page=True)
                    page.goto(f"{base}/")
                    reachable = page.inner_text("#reachable")
                    page.screenshot(path=str(ARTIFACTS / "queue-reachable.png"), full_page=True)
                    assert "Priya Shah" in reachable and "Omar Reyes" not in reachable  # the rotation names Priya
                    browser.close()
            subjects = [str(m.message["Subject"]) for m in smtp.messages()]
            # Fridge 2 opened, then its acknowledgement (acks tell the team); nothing for the silenced fridge 3.
            assert len(subjects) == 2 and "ACKNOWLEDGED" in subjects[1], subjects
            assert not any("Fridge 3" in subject for subject in subjects), subjects
        finally:
            publisher.close()
            smtp.stop()
            remove_session(broker.port, "agent-one-tap")
