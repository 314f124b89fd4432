"""The broker down for 60 s under QoS 1 traffic: /readyz says so the whole time, the agent
reconnects by itself, and every reading published before, during and after is stored once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.agent_process import AgentProcess, readyz, wait_ready
from tests.faults.conftest import agent_yaml
from tests.faults.counting import StoredReadings, duplicates
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port, remove_session
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"
OUTAGE_S = 60


def test_broker_down_60s_reconnects_and_loses_nothing(tmp_path: Path, broker: Mosquitto) -> None:
    client_id = "agent-faults-broker-down"
    api_port = free_port()
    config = agent_yaml(
        tmp_path, broker_port=broker.port, client_id=client_id, api_port=api_port, mqtt_extra=", reconnect_max: 2s"
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    stored = StoredReadings(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")
    publisher = QosPublisher(broker.port, "broker-down-publisher")
    sent = 0

    def publish(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            publisher.publish(TOPIC, f"{4 + sent / 10_000:.4f}".encode())
            sent += 1

    try:
        agent.start()
        wait_ready(api_port)
        publish(200)
        publisher.wait_acked()  # with the broker: some stored, some still on their way to the agent
        broker.stop()
        status, body = wait_until(
            lambda: (r := readyz(api_port))[0] == 503 and r, 60, 0.2, "/readyz to report the outage"
        )
        assert body["checks"]["mqtt"].startswith("failing"), body
        publish(300)  # sensors keep publishing: their client queues until the broker is back
        # The outage lasts 60 s and /readyz reports it at every look.
        down_since = time.monotonic()
        looks = 0
        while time.monotonic() - down_since < OUTAGE_S:
            status, body = readyz(api_port)
            assert status == 503 and body["checks"]["mqtt"].startswith("failing"), body
            looks += 1
            time.sleep(1)
        assert agent.alive(), agent.tail()
        broker.start()
        wait_ready(api_port)
        publisher.wait_acked()
        publish(100)
        wait_until(lambda: stored.count() >= sent, 180, 0.2, f"all {sent} readings stored")
        assert agent.stop() == 0, agent.tail()
        values = stored.values()
        assert not duplicates(values), duplicates(values)[:5]
        assert stored.count() == sent == 600 and looks >= 10
        assert "mqtt disconnected" in agent.output()
    finally:
        if agent.alive():
            agent.kill9()
        if not broker.running:
            broker.start()
        publisher.close()
        stored.close()
        remove_session(broker.port, client_id)
