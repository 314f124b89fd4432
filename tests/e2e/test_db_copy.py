"""Moving from SQLite to PostgreSQL: an agent fills SQLite through MQTT, HTTP and the CLI, then
`facility-agent db copy --to postgresql://...` (a subprocess) moves it, and the same agent config,
pointed at PostgreSQL, shows the same queue and keeps working. The source file never changes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from agent.storage.db import normalise_url
from agent.storage.models import Base
from tests.conftest import require_postgres
from tests.e2e.cli_agent import CLI, AgentProcess, cli
from tests.support.db import postgres_schema
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def needs_postgres() -> None:
    require_postgres()


def write_config(path: Path, *, data: Path, api_port: int, mqtt_port: int) -> None:
    path.write_text(
        f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {data}, flush_interval: 50ms}}
api: {{port: {api_port}}}
mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}", client_id: e2e-db-copy}}
teams:
  pharmacy: {{name: Pharmacy}}
  supply: {{name: Supply}}
alerting: {{ack_recovery: 0s}}
notifications: {{restock_report: {{enabled: false}}, weekly_summary: {{enabled: false}}}}
rules:
  - {{id: fridge-warm, metric: temperature_c, match: {{kinds: [fridge]}}, above: 8, severity: warning,
      team: pharmacy, message: "{{name}} in {{location}} is at {{value}}"}}
equipment:
  - {{id: fridge-1, name: Vaccine fridge 1, kind: fridge, location: Pharmacy, team: pharmacy}}
  - {{id: fridge-2, name: Vaccine fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
  - {{id: fridge-pharmacy-west, name: Vaccine fridge 3, kind: fridge, location: Ward 2, team: pharmacy}}
supplies:
  - {{sku: GLV-M, name: Gloves M, par: 40, reorder_point: 10, location: Storeroom}}
"""
    )


def copy(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--config", str(config), "db", "copy", *args],
                          capture_output=True, text=True, timeout=300, env=dict(os.environ))


def counts(url: str) -> dict[str, int]:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def queue_view(agent: AgentProcess) -> dict[str, Any]:
    """What the coordinator sees on the queue, less the time it was made."""
    queue = agent.get("/api/v1/queue")
    return {
        "items": [(a["id"], a["status"], a["severity"], a["message"]) for a in queue["items"]],
        "alerts": [(a["id"], a["status"], a["message"]) for a in agent.get("/api/v1/alerts")["items"]],
        **{k: queue[k] for k in ("total_open", "by_severity", "acknowledged", "low_supplies", "teams")},
    }


@pytest.mark.postgres
def test_a_populated_sqlite_database_moves_to_postgresql(tmp_path: Path, needs_postgres: None) -> None:
    config, api_port = tmp_path / "facility.yaml", free_port()
    source = tmp_path / "data" / "facility.db"
    with Mosquitto(tmp_path / "broker") as broker:
        write_config(config, data=tmp_path / "data", api_port=api_port, mqtt_port=broker.port)
        cli(config, "db", "upgrade")
        cli(config, "user", "add", "sam", "--role", "admin", "--name", "Sam", env={"FACILITY_NEW_PASSWORD": "correct horse battery"})
        token = cli(config, "token", "create", "--user", "sam", "--name", "e2e").splitlines()[0].strip()
        publisher = QosPublisher(broker.port, "e2e-sensors")
        try:
            with AgentProcess(config, api_port, token, tmp_path / "sqlite.log") as agent:
                for n, fridge in enumerate(("fridge-1", "fridge-2", "fridge-pharmacy-west"), start=1):
                    topic = f"facility/riverside/equipment/{fridge}/temperature_c"
                    for value in (4.0, 5.0, 9.0 + n):
                        publisher.publish(topic, json.dumps({"value": value}))
                wait_until(lambda: len(agent.get("/api/v1/alerts")["items"]) == 3, 30, 0.1, "three fridge alerts")
                first = agent.get("/api/v1/alerts", equipment="fridge-1")["items"][0]
                acked = agent.http.post(f"/api/v1/alerts/{first['id']}/ack", json={"comment": "on my way"})
                assert acked.status_code == 200, acked.text
                counted = agent.http.post("/api/v1/supplies/GLV-M/counts", json={"count": 6, "comment": "shelf check"})
                assert counted.status_code == 201, counted.text
                before = wait_until(
                    lambda: (v := queue_view(agent))["low_supplies"] and v, 30, 0.1, "the queue with the gloves",
                )
                assert before["total_open"] >= 3 and before["acknowledged"] == 1, before
                assert agent.stop() == 0, agent.log()

            untouched = fingerprint(source)
            sqlite_url = f"sqlite:///{source}"
            expected = counts(sqlite_url)
            assert expected["alerts"] >= 3 and expected["readings"] >= 9 and expected["users"] == 1, expected

            with postgres_schema() as pg_url:
                # The long topic's source was cut to its column when stored, so nothing in this
                # database is too wide for PostgreSQL and no --truncate is needed.
                done = copy(config, "--to", pg_url)
                assert done.returncode == 0, done.stdout + done.stderr
                assert "row counts match" in done.stdout and "rows/s" in done.stdout, done.stdout
                assert "alerts: " in done.stderr, done.stderr  # progress, one line per table when not a TTY
                assert "warning:" not in done.stderr, done.stderr  # nothing had to be cut
                assert counts(pg_url) == expected
                assert fingerprint(source) == untouched

                # A second copy into the now filled database is refused, and changes nothing.
                again = copy(config, "--to", pg_url, "--truncate")
                assert again.returncode == 2 and "not empty" in again.stderr and "--resume" in again.stderr, again.stderr
                assert counts(pg_url) == expected

                # A copy that stopped half way (the newest rows of three tables never arrived) is
                # finished by --resume, which keeps what is there.
                engine = create_engine(normalise_url(pg_url))
                with engine.begin() as conn:
                    for table in ("alert_events", "readings", "audit_log"):
                        conn.execute(text(f"DELETE FROM {table} WHERE id > (SELECT MIN(id) FROM {table})"))
                engine.dispose()
                assert counts(pg_url) != expected
                resumed = copy(config, "--to", pg_url, "--resume", "--truncate")
                assert resumed.returncode == 0, resumed.stdout + resumed.stderr
                assert "already there, skipped" in resumed.stderr, resumed.stderr
                assert counts(pg_url) == expected
                assert fingerprint(source) == untouched

                # The same config on PostgreSQL: the same queue, and new alerts get new ids.
                env = {"FACILITY_DATABASE__URL": pg_url}
                with AgentProcess(config, api_port, token, tmp_path / "postgres.log", env) as agent:
                    assert queue_view(agent) == before
                    publisher.publish("facility/riverside/equipment/fridge-1/temperature_c", "3")
                    wait_until(lambda: agent.get(f"/api/v1/alerts/{first['id']}")["status"] == "resolved",
                               30, 0.1, "fridge 1 cleared on PostgreSQL")
                    publisher.publish("facility/riverside/equipment/fridge-1/temperature_c", "14")
                    fresh = wait_until(
                        lambda: [a for a in agent.get("/api/v1/alerts", equipment="fridge-1")["items"]
                                 if a["id"] != first["id"]], 30, 0.1, "a new alert on PostgreSQL",
                    )
                    assert fresh[0]["id"] > max(a[0] for a in before["alerts"]), fresh
                    assert agent.stop() == 0, agent.log()
            assert fingerprint(source) == untouched
        finally:
            publisher.close()


def test_bad_targets_and_a_missing_source_get_clear_errors(tmp_path: Path) -> None:
    config = tmp_path / "facility.yaml"
    write_config(config, data=tmp_path / "data", api_port=free_port(), mqtt_port=free_port())

    missing = copy(config, "--to", "postgresql://facility:s3cret-pw@127.0.0.1:5432/facility")
    assert missing.returncode == 2 and "no SQLite database at" in missing.stderr, missing.stderr
    assert str(tmp_path / "data" / "facility.db") in missing.stderr

    cli(config, "db", "upgrade")
    wrong = copy(config, "--to", "mysql://facility:s3cret-pw@db/facility")
    assert wrong.returncode == 2 and "must be a postgresql:// URL" in wrong.stderr, wrong.stderr

    unreachable = copy(config, "--to", f"postgresql://facility:s3cret-pw@127.0.0.1:{free_port()}/facility")
    assert unreachable.returncode == 2 and "cannot reach PostgreSQL at" in unreachable.stderr, unreachable.stderr
    for done in (missing, wrong, unreachable):
        assert "s3cret-pw" not in done.stdout + done.stderr
