"""The whole agent against real services: a private mosquitto, real storage, the real runtime."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from agent.config import load_config_text
from agent.runtime import Runtime
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import Alert, LatestReading, ReadingHistory, UnknownSource
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow


def agent_config(tmp_path: Path, broker_port: int, client_id: str) -> str:
    return f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{enabled: false}}
mqtt:
  url: mqtt://127.0.0.1:{broker_port}
  client_id: {client_id}
equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy, team: pharmacy}}
rules:
  - id: vaccine-fridge-temperature
    metric: temperature_c
    match: {{kinds: [fridge]}}
    outside: [2, 8]
    clear_inside: [2.5, 7.5]
    team: pharmacy
alerting: {{tick_interval: 1s}}
"""


@pytest.fixture
def broker(tmp_path: Path):
    with Mosquitto(tmp_path / "mosquitto") as mosquitto:
        yield mosquitto


def test_mqtt_readings_become_alerts_and_alert_changes_go_out(tmp_path: Path, broker: Mosquitto) -> None:
    client_id = "agent-e2e-alerts"
    config = load_config_text(agent_config(tmp_path, broker.port, client_id), environ={})
    runtime = Runtime(config).build()
    alerts_out: list[dict] = []
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="alert-watcher")
    watcher.on_message = lambda c, u, m: alerts_out.append(json.loads(m.payload))
    watcher.connect("127.0.0.1", broker.port)
    watcher.subscribe("facility/riverside/alerts/#", qos=1)
    watcher.loop_start()
    publisher = QosPublisher(broker.port, "sensor-publisher")
    try:
        with RunningAgent(runtime):
            wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
            publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", b"5.1")
            publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", json.dumps({"value": 9.4}))
            publisher.publish("facility/riverside/equipment/fridge-99/temperature_c", b"4.0")  # unknown source
            publisher.wait_acked()

            def opened() -> bool:
                with runtime.sessions() as s:
                    return s.scalar(select(func.count()).select_from(Alert).where(Alert.status == "open")) == 1

            wait_until(opened, timeout=20, what="alert opened in storage")
            wait_until(lambda: any(a["event"] == "opened" for a in alerts_out), timeout=20, what="alert published")
        with runtime.sessions() as s:
            alert = s.scalars(select(Alert)).one()
            assert alert.subject == "fridge-2" and alert.last_value == 9.4
            assert alert.message.startswith("Fridge 2 in Pharmacy is at 9.4")
            latest = s.get(LatestReading, ("fridge-2", "temperature_c"))
            assert latest is not None and latest.value_num == 9.4
            unknown = s.scalars(select(UnknownSource)).all()
            assert [u.key for u in unknown] == ["facility/riverside/equipment/fridge-99/temperature_c"]
        published = next(a for a in alerts_out if a["event"] == "opened")
        assert published["subject"] == "fridge-2" and published["severity"] == "warning"
    finally:
        publisher.close()
        watcher.loop_stop()
        watcher.disconnect()
        remove_session(broker.port, client_id)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(signal.SIGTERM, id="sigterm-bare-numbers"),
        # A crash: stored readings whose acks never left come back after the restart. Their
        # timestamps (from the payload) make them the same observations, stored once.
        pytest.param(signal.SIGKILL, id="sigkill-timestamped"),
    ],
)
def test_stop_mid_stream_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, broker: Mosquitto, stop: signal.Signals
) -> None:
    """Stopped while 500 QoS 1 readings are in flight; after a restart each is stored once."""
    client_id = f"agent-e2e-{stop.name.lower()}"
    config_path = tmp_path / "facility.yaml"
    config_path.write_text(agent_config(tmp_path, broker.port, client_id))
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    command = [sys.executable, "-m", "agent.cli", "--config", str(config_path), "run"]
    publisher = QosPublisher(broker.port, "sigterm-publisher")
    db = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")
    sessions = session_factory(db)

    def stored(metric: str = "temperature_c") -> int:
        try:
            with sessions() as s:
                query = select(func.count()).select_from(ReadingHistory).where(ReadingHistory.metric == metric)
                return int(s.scalar(query) or 0)
        except Exception:  # noqa: BLE001 - the database may not exist yet
            return -1

    def agent_is_subscribed() -> bool:
        # Until the agent's session exists on the broker, a publish has no one to go to: keep poking.
        publisher.publish("facility/riverside/equipment/fridge-2/humidity_pct", b"40")
        return stored("humidity_pct") >= 1

    procs: list[subprocess.Popen[str]] = []
    try:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        wait_until(agent_is_subscribed, timeout=30, interval=0.5, what="agent subscribed and storing")
        for i in range(500):
            # Distinct values, so a reading stored twice can be named.
            value = f"{4 + i / 1000:.3f}"
            if stop is signal.SIGKILL:
                payload = json.dumps({"value": float(value), "ts": time.time() - 600 + i}).encode()
            else:
                payload = value.encode()
            publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", payload)
        publisher.wait_acked()
        proc.send_signal(stop)
        first_out, _ = proc.communicate(timeout=60)
        if stop is signal.SIGTERM:
            assert proc.returncode == 0, first_out
            assert "stopped" in first_out
        after_first = stored()
        assert 0 <= after_first <= 500

        again = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(again)
        wait_until(lambda: stored() >= 500, timeout=30, what="the rest delivered after restart")
        # Give redeliveries, if any were wrong, a chance to show up as duplicates.
        publisher.publish("facility/riverside/equipment/fridge-2/temperature_c", b"5.5")
        publisher.wait_acked()
        wait_until(lambda: stored() >= 501, timeout=30, what="marker stored")
        again.send_signal(signal.SIGTERM)
        second_out, _ = again.communicate(timeout=60)
        with sessions() as s:
            query = select(ReadingHistory.value_num).where(ReadingHistory.metric == "temperature_c")
            counts = Counter(round(v, 3) for v in s.scalars(query))
        twice = sorted(v for v, n in counts.items() if n > 1)
        assert stored() == 501, (
            f"stored twice: {len(twice)} readings, {twice[:3]}..{twice[-3:]}\n"
            f"{after_first} stored before the restart\n--- first run\n{first_out[-4000:]}\n--- second run\n{second_out[-4000:]}"
        )
        assert again.returncode == 0, second_out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        publisher.close()
        db.dispose()
        remove_session(broker.port, client_id)
