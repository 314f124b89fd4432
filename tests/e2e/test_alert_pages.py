"""The alert pages of a running agent, reached only through its public surfaces: accounts from the
CLI, readings over MQTT, alert emails to a real SMTP server, the pages and forms over HTTP.

A pharmacist acknowledges a warm fridge: the notice names the alert, the page says who was told
(the email that went out) and shows people by their display names. Resolving while the fridge
is still warm is warned about; done anyway, the alert that comes back links to the resolved one.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from agent.cli import main
from agent.config import load_config_text
from agent.runtime import Runtime
from agent.storage.models import Alert
from tests.reports.smtp_server import PASSWORD as SMTP_PASSWORD
from tests.reports.smtp_server import SmtpServer
from tests.support.mosquitto import Mosquitto, QosPublisher
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"
TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sign_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=15)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    return client


def csrf(client: httpx.Client) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)  # type: ignore[union-attr]


def test_acknowledge_who_was_told_and_a_resolved_alert_that_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    monkeypatch.setenv("FACILITY_NEW_PASSWORD", PASSWORD)
    smtp = SmtpServer(tmp_path).start()
    with Mosquitto(tmp_path / "mosquitto") as broker:
        port = free_port()
        smtp_yaml = ", ".join(f"{k}: {v!r}" if isinstance(v, str) else f"{k}: {v}" for k, v in smtp.smtp_settings().items())
        config_path = tmp_path / "facility.yaml"
        config_path.write_text(f"""
site: {{id: riverside, name: Riverside Clinic, timezone: Europe/London}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{port: {port}, cookie_secure: false}}  # plain http on loopback
mqtt: {{url: "mqtt://127.0.0.1:{broker.port}", client_id: agent-e2e-pages}}
equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
rules:
  - id: vaccine-fridge-temperature
    description: Vaccine fridges stay between 2 and 8 °C.
    metric: temperature_c
    match: {{kinds: [fridge]}}
    outside: [2, 8]
    clear_inside: [2.5, 7.5]
    team: pharmacy
teams:
  pharmacy: {{name: Pharmacy, emails: [pharmacy@riverside.example]}}
notifications:
  smtp: {{{smtp_yaml}}}
  alert_emails: true
  restock_report: {{enabled: false}}
  weekly_summary: {{enabled: false}}
alerting: {{tick_interval: 1s}}
""")
        runtime = Runtime(load_config_text(config_path.read_text(), environ={"TEST_SMTP_PASSWORD": SMTP_PASSWORD})).build()
        publisher = QosPublisher(broker.port, "sensor-publisher")
        try:
            with RunningAgent(runtime):
                for user, role, name in (("pat", "staff", "Pat Pharmacist"), ("sam", "coordinator", "Sam Patel")):
                    args = ["-c", str(config_path), "user", "add", user, "--role", role, "--name", name, "--team", "pharmacy"]
                    assert main(args) == 0
                base = f"http://127.0.0.1:{port}"
                wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
                publisher.publish(TOPIC, b"9.4")
                publisher.wait_acked()
                wait_until(lambda: len(smtp.messages()) >= 1, timeout=30, what="the alert email")
                with runtime.sessions() as s:
                    first = s.scalars(select(Alert)).one().id

                pat = sign_in(base, "pat")
                queue = pat.get("/").text
                assert f'<a href="/alerts/{first}">Fridge 2 in Pharmacy is at 9.4 °C' in queue  # the text is the link
                r = pat.post(f"/alerts/{first}/ack", data={"csrf_token": csrf(pat), "next": f"/#alert-{first}"})
                assert r.status_code == 303 and r.headers["location"].endswith(f"#alert-{first}")
                assert f"Acknowledged #{first} (Fridge 2 in Pharmacy" in httpx.QueryParams(
                    r.headers["location"].split("?", 1)[1].split("#")[0])["notice"]

                page = pat.get(f"/alerts/{first}").text
                assert "Acknowledged by Pat Pharmacist" in page
                assert re.search(r"pharmacy@riverside\.example</b> by email · .* GMT \(.*\) · delivered", page), page
                assert "Vaccine fridges stay between 2 and 8 °C." in page and "9.4 °C" in page
                assert "Fridge 2 still reports 9.4 °C. Resolving now will reopen it." in page

                sam = sign_in(base, "sam")
                assert ">Pat Pharmacist</option>" in sam.get(f"/alerts/{first}").text  # Assign offers the team's people

                r = pat.post(f"/alerts/{first}/resolve", data={"csrf_token": csrf(pat), "reason": "fixed", "next": "/"})
                assert r.status_code == 303 and "notice=Resolved" in r.headers["location"]
                publisher.publish(TOPIC, b"9.5")  # still warm
                publisher.wait_acked()

                def reopened() -> int | None:
                    with runtime.sessions() as s:
                        return s.scalar(select(Alert.id).where(Alert.status == "open"))

                again = wait_until(reopened, timeout=20, what="the alert to come back")
                assert f'Reopened from</dt><dd><a href="/alerts/{first}">#{first}</a>' in pat.get(f"/alerts/{again}").text
                assert f'Came back as</dt><dd><a href="/alerts/{again}">#{again}</a>' in pat.get(f"/alerts/{first}").text
        finally:
            publisher.close()
            smtp.stop()
