"""SQLite write-locked by another process for 5 s: the agent's writes wait, then go through, once each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.agent_process import AgentProcess
from tests.faults.conftest import agent_yaml
from tests.faults.counting import StoredReadings, duplicates, subscribed
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"
LOCK_S = 5

# Another program (a backup tool, a person with the sqlite3 shell) takes the write lock and sits on it.
LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
print("released", flush=True)
"""


def test_sqlite_write_locked_5s_writes_wait_and_retry(tmp_path: Path, broker: Mosquitto) -> None:
    client_id = "agent-faults-sqlite-lock"
    db_path = tmp_path / "data" / "facility.db"
    agent = AgentProcess(agent_yaml(tmp_path, broker_port=broker.port, client_id=client_id), tmp_path / "agent.log")
    stored = StoredReadings(f"sqlite:///{db_path}")
    publisher = QosPublisher(broker.port, "sqlite-lock-publisher")
    sent = 0

    def publish(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            publisher.publish(TOPIC, f"{4 + sent / 10_000:.4f}".encode())
            sent += 1

    try:
        agent.start()
        wait_until(lambda: subscribed(publisher, stored), 120, 0.5, "agent subscribed and storing")
        publish(100)
        wait_until(lambda: stored.count() == sent, 60, 0.05, "first readings stored")
        before = stored.count()
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(db_path), str(LOCK_S)], stdout=subprocess.PIPE, text=True
        )
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        publish(300)
        publisher.wait_acked()  # the broker has them; the agent holds them unacked until stored
        # Readers still work under a write lock (WAL): nothing new can have been committed.
        assert stored.count() == before
        assert locker.stdout.readline().strip() == "released"
        assert locker.wait(10) == 0
        wait_until(lambda: stored.count() >= sent, 180, 0.1, f"all {sent} stored after the lock")
        assert agent.alive(), agent.tail()
        assert agent.stop() == 0, agent.tail()
        assert not duplicates(stored.values())
        assert stored.count() == sent == before + 300
    finally:
        if agent.alive():
            agent.kill9()
        publisher.close()
        stored.close()
        remove_session(broker.port, client_id)
