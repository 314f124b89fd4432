"""kill -9 under QoS 1 load, twice, then a restart: every reading stored exactly once.

The readings are bare numbers ("9.0123"): no timestamp in the payload, so a copy redelivered
after the crash can only be recognised by the broker's packet identity, which the agent
commits with the reading (collectors/mqtt/receipts.py). And one alert, not one per copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.agent_process import AgentProcess
from tests.faults.conftest import agent_yaml
from tests.faults.counting import StoredReadings, duplicates
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"
N = 3000


def test_kill9_twice_under_qos1_load_stores_each_bare_number_once(tmp_path: Path, broker: Mosquitto) -> None:
    client_id = "agent-faults-kill9"
    config = agent_yaml(tmp_path, broker_port=broker.port, client_id=client_id)
    agent = AgentProcess(config, tmp_path / "agent.log")
    stored = StoredReadings(f"sqlite:///{tmp_path / 'data' / 'facility.db'}")
    publisher = QosPublisher(broker.port, "kill9-publisher")

    def subscribed() -> bool:
        publisher.publish("facility/riverside/equipment/fridge-2/humidity_pct", b"40")
        return stored.count("humidity_pct") >= 1

    try:
        agent.start()
        wait_until(subscribed, 120, 0.5, "agent subscribed and storing")
        # Distinct bare values, all above 8 °C: one alert opens and stays open.
        for i in range(N):
            publisher.publish(TOPIC, f"{9 + i / 10_000:.4f}".encode())
        kills = []
        for threshold in (N // 5, N // 2):
            wait_until(lambda t=threshold: stored.count() >= t, 120, 0.01, f"{threshold} stored before kill -9")
            agent.kill9()  # mid-stream: batches committed, their acks not all processed by the broker
            kills.append(stored.count())
            agent.start()
        publisher.wait_acked()
        wait_until(lambda: stored.count() >= N, 180, 0.2, f"all {N} stored after the restarts")
        # A marker after the backlog: any late copy would be stored before it.
        publisher.publish(TOPIC, b"9.9999")
        publisher.wait_acked()
        wait_until(lambda: stored.count() >= N + 1, 120, 0.1, "marker stored")
        assert agent.stop() == 0, agent.tail()
        values = stored.values()
        twice = duplicates(values)
        assert not twice, f"stored twice: {len(twice)}: {twice[:5]}; counts at kill {kills}\n{agent.tail()}"
        assert stored.count() == N + 1, f"lost: {N + 1 - stored.count()}\n{agent.tail()}"
        assert stored.alerts() == [("vaccine-fridge-temperature", "fridge-2", "open")]
        assert agent.output().count("mqtt receipts loaded") >= 1, agent.tail()
    finally:
        if agent.alive():
            agent.kill9()
        publisher.close()
        stored.close()
        remove_session(broker.port, client_id)
