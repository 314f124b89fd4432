"""A private PostgreSQL stopped and started again under MQTT load.

While it is down the readings wait in the agent's bounded queue; when the queue is full the
agent says so (a log line, facility_pipeline_queue_full on /metrics, /readyz failing) and holds
the rest back unacknowledged at the broker. When the database is back, everything is written once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.agent_process import AgentProcess, metric_value, readyz, wait_ready
from tests.faults.conftest import agent_yaml
from tests.faults.counting import StoredReadings, duplicates, subscribed
from tests.support.db import postgres_required
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port, remove_session
from tests.support.pg_instance import PrivatePostgres, postgres_bin
from tests.support.wait import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"
QUEUE = 200


def test_postgres_restarted_under_load_buffers_refuses_visibly_and_loses_nothing(
    tmp_path: Path, broker: Mosquitto
) -> None:
    if postgres_bin() is None:
        reason = "no PostgreSQL binaries under /usr/lib/postgresql/*/bin to run a private server"
        if postgres_required():  # CI: a missing PostgreSQL fails
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    client_id = "agent-faults-pg-restart"
    api_port = free_port()
    with PrivatePostgres() as pg:
        config = agent_yaml(
            tmp_path,
            broker_port=broker.port,
            client_id=client_id,
            api_port=api_port,
            database=f"{{url: '{pg.url}', queue_size: {QUEUE}, batch_size: 50, flush_interval: 50ms}}",
        )
        agent = AgentProcess(config, tmp_path / "agent.log")
        publisher = QosPublisher(broker.port, "pg-restart-publisher")
        stored = StoredReadings(pg.url)
        sent = 0

        def publish(count: int) -> None:
            nonlocal sent
            for _ in range(count):
                publisher.publish(TOPIC, f"{4 + sent / 10_000:.4f}".encode())
                sent += 1

        try:
            agent.start()
            wait_ready(api_port)
            wait_until(lambda: subscribed(publisher, stored), 120, 0.5, "agent subscribed and storing")
            publish(100)
            wait_until(lambda: stored.count() == sent, 60, 0.1, "first readings stored")
            pg.stop()
            publish(1000)  # five times what the queue holds
            status, body = wait_until(
                lambda: (r := readyz(api_port))[0] == 503 and r[1]["checks"]["pipeline"].startswith("failing") and r,
                120, 0.2, "/readyz to report the full queue",
            )
            assert "queue full" in body["checks"]["pipeline"], body
            assert metric_value(api_port, "facility_pipeline_queue_full") == 1
            assert metric_value(api_port, "facility_pipeline_queue_full_waits_total") >= 1
            assert "pipeline queue full" in agent.output()
            pg.start()
            wait_until(lambda: stored.count() >= sent, 180, 0.2, f"all {sent} stored after the restart")
            wait_ready(api_port)
            assert metric_value(api_port, "facility_pipeline_queue_full") == 0
            assert agent.stop() == 0, agent.tail()
            assert not duplicates(stored.values())
            assert stored.count() == sent == 1100
            assert "storage write failed, retrying" in agent.output()
        finally:
            if agent.alive():
                agent.kill9()
            publisher.close()
            stored.close()
            remove_session(broker.port, client_id)
