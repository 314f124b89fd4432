"""No secret ever shows: a running agent is given an SNMP community, SNMPv3 keys, MQTT, SMTP and
database passwords, a session secret and API tokens; then everything it says is captured (every
log record at debug, every API response, /metrics, /readyz, the OpenAPI document, error pages)
and grepped for each secret."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from agent.config import load_config_text
from agent.runtime import Runtime
from agent.services import auth
from tests.support.db import migrate, postgres_schema, postgres_unavailable
from tests.support.mosquitto import Mosquitto
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

SECRETS = {
    "FACILITY_T_COMMUNITY": "community-S3cret-71",
    "FACILITY_T_AUTH": "v3-auth-S3cret-72",
    "FACILITY_T_PRIV": "v3-priv-S3cret-73",
    "FACILITY_T_SMTP": "smtp-S3cret-74",
}
MQTT_PASSWORD = "mqtt-S3cret-75"
DB_PASSWORD = "db-S3cret-76"
SESSION_SECRET = "session-S3cret-77-" + "z" * 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """PostgreSQL with a password in its URL when there is one (the test server trusts loopback,
    so any password is accepted); SQLite otherwise."""
    if postgres_unavailable():
        yield f"sqlite:///{tmp_path / 'facility.db'}", None
        return
    with postgres_schema() as url:
        parts = urlsplit(url)
        netloc = f"{parts.username or 'postgres'}:{DB_PASSWORD}@{parts.hostname}:{parts.port or 5432}"
        yield urlunsplit(parts._replace(netloc=netloc)), DB_PASSWORD


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + " " + repr(record.__dict__))


def test_no_secret_in_logs_responses_metrics_or_error_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "mqtt-password").write_text(MQTT_PASSWORD)
    (tmp_path / "session-secret").write_text(SESSION_SECRET)
    port = free_port()
    snmp_port = free_port()  # nobody answers there: every poll times out and is logged
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    captured: list[str] = []
    try:
        with Mosquitto(tmp_path / "broker") as broker, database(tmp_path) as (db_url, db_password):
            migrate(db_url)
            text = f"""
site: {{id: secret-site, name: Secret Clinic}}
database: {{url: "{db_url}", data_dir: {tmp_path / "data"}}}
api: {{port: {port}, session_secret_file: {tmp_path / "session-secret"}, cookie_secure: false}}
logging: {{level: debug}}
mqtt:
  url: mqtt://127.0.0.1:{broker.port}
  client_id: secret-test-agent
  username: facility-agent
  password_file: {tmp_path / "mqtt-password"}
notifications:
  smtp: {{host: 127.0.0.1, port: {free_port()}, security: starttls, username: agent, password_env: FACILITY_T_SMTP}}
snmp: {{timeout: 200ms, retries: 0, interval: 1s}}
equipment:
  - {{id: printer-1, name: Printer, kind: printer, snmp: {{host: 127.0.0.1, port: {snmp_port}, profile: printer, community_env: FACILITY_T_COMMUNITY}}}}
  - id: ups-1
    name: UPS
    kind: ups
    snmp: {{host: 127.0.0.1, port: {snmp_port}, profile: ups, version: 3, user: monitor, auth_protocol: SHA-256,
           auth_password_env: FACILITY_T_AUTH, priv_protocol: AES-128, priv_password_env: FACILITY_T_PRIV}}
"""
            runtime = Runtime(load_config_text(text, file="secret.yaml", environ=dict(os.environ))).build()
            now = runtime.clock()
            auth.add_user(runtime.sessions, username="boss", password="a long enough password", role="admin", now=now)
            token = auth.create_token(runtime.sessions, username="boss", name="script", now=now).secret
            with RunningAgent(runtime):
                base = f"http://127.0.0.1:{port}"
                admin = {"Authorization": f"Bearer {token}"}
                wait_until(lambda: any("printer-1" in line for line in handler.lines), timeout=20, what="a failed poll in the log")
                second = httpx.post(f"{base}/api/v1/tokens", json={"username": "boss", "name": "two"}, headers=admin, timeout=30)
                second_secret = second.json()["secret"]  # shown in this one response only
                gets = [
                    "/api/v1/queue", "/api/v1/alerts", "/api/v1/equipment", "/api/v1/equipment/printer-1",
                    "/api/v1/equipment/ups-1", "/api/v1/users", "/api/v1/tokens", "/api/v1/me", "/api/v1/silences",
                    "/api/v1/openapi.json", "/metrics", "/readyz", "/healthz", "/api/v1/equipment/nope",
                    "/api/v1/alerts?limit=abc", "/equipment/printer-1", "/nope",
                ]
                for path in gets:
                    r = httpx.get(base + path, headers=admin, timeout=30)
                    captured.append(f"{path} {r.status_code} {r.headers} {r.text}")
                for r in (
                    httpx.get(f"{base}/api/v1/me", headers={"Authorization": "Bearer fa_00000000_wrong"}, timeout=30),
                    httpx.post(f"{base}/api/v1/users", content=b"{bad json", headers={**admin, "Content-Type": "application/json"}, timeout=30),
                    httpx.post(f"{base}/login", data={"username": "boss", "password": "guess"}, timeout=30),
                ):
                    captured.append(f"{r.status_code} {r.headers} {r.text}")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    everything = "\n".join(captured + handler.lines)
    assert "printer-1" in everything and "/metrics" in everything  # something was captured
    secrets = [*SECRETS.values(), MQTT_PASSWORD, SESSION_SECRET, token, second_secret.split("_", 2)[2]]
    if db_password:
        secrets.append(db_password)
    for secret in secrets:
        assert secret not in everything, f"a secret ({secret[:6]}...) was shown:\n" + "\n".join(
            line[:300] for line in everything.splitlines() if secret in line
        )[:3000]
