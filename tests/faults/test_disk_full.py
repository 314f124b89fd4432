"""The data directory's disk full (a 16 MiB tmpfs): the agent says so (log, /readyz), keeps the
readings unacknowledged, loses nothing it stored or acknowledged, and writes them once space is back."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.agent_process import AgentProcess, readyz, wait_ready
from tests.faults.conftest import agent_yaml
from tests.faults.counting import StoredReadings, duplicates, subscribed
from tests.support.mosquitto import Mosquitto, QosPublisher, free_port, remove_session
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

TOPIC = "facility/riverside/equipment/fridge-2/temperature_c"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True)
    if result.returncode != 0:
        if os.geteuid() == 0:
            pytest.fail(f"root but cannot mount a tmpfs: {result.stderr}")
        pytest.skip(f"mounting a small tmpfs needs root: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> None:
    """Write zeros until the file system refuses (ENOSPC)."""
    chunk = b"\0" * 65536
    with path.open("wb") as out:
        try:
            while True:
                out.write(chunk)
                out.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def test_disk_full_says_so_and_loses_nothing_acknowledged(tmp_path: Path, small_disk: Path, broker: Mosquitto) -> None:
    client_id = "agent-faults-disk-full"
    api_port = free_port()
    data = small_disk / "data"
    config = agent_yaml(
        tmp_path, broker_port=broker.port, client_id=client_id, api_port=api_port,
        database=f"{{data_dir: {data}, flush_interval: 50ms}}",
    )
    agent = AgentProcess(config, tmp_path / "agent.log")
    publisher = QosPublisher(broker.port, "disk-full-publisher")
    stored = StoredReadings(f"sqlite:///{data / 'facility.db'}")
    filler = small_disk / "filler"
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
        publish(200)
        wait_until(lambda: stored.count() == sent, 60, 0.1, "first readings stored")
        acknowledged = stored.count()
        fill(filler)
        publish(2000)
        status, body = wait_until(
            lambda: (r := readyz(api_port))[0] == 503 and r[1]["checks"]["storage"].startswith("failing") and r,
            120, 0.2, "/readyz to report the full disk",
        )
        assert "disk full" in body["checks"]["storage"], body
        wait_until(lambda: "storage is full" in agent.output(), 60, 0.2, "the log to say the disk is full")
        assert stored.count() >= acknowledged  # what was stored before is all still there
        filler.unlink()
        wait_until(lambda: stored.count() >= sent, 180, 0.2, f"all {sent} stored once space is back")
        wait_ready(api_port)
        assert agent.stop() == 0, agent.tail()
        assert not duplicates(stored.values())
        assert stored.count() == sent == 2200
    finally:
        if agent.alive():
            agent.kill9()
        publisher.close()
        stored.close()
        remove_session(broker.port, client_id)
