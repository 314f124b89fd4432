"""A flood over MQTT: 5,000 distinct unknown topics, then 5,000 random metric names on one known
fridge. Everything is counted (readings in, dropped, unknown sources) and the agent's memory,
its /metrics page and its tables stay under the bounds stated below, while the real fridge
reading sent last is still stored.

The bounds are the agent's own caps on unknown sources and on metrics per subject (issue 11)."""

from __future__ import annotations

import random
import socket
import string
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agent import reading_guard, unknown_sources
from agent.config import load_config_text
from agent.runtime import Runtime
from agent.storage.models import LatestReading, UnknownSource
from tests.support.mosquitto import Mosquitto, QosPublisher
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

FLOOD = int(__import__("os").environ.get("FACILITY_TEST_FLOOD", "5000"))
MAX_UNKNOWN_ROWS = unknown_sources.MAX_ROWS  # unknown sources kept (the newest; older ones pruned)
MAX_METRICS_PER_SUBJECT = reading_guard.MAX_METRICS_PER_SUBJECT  # more are refused and counted
MAX_METRICS_BYTES = 256 * 1024  # /metrics after the flood
MAX_RSS_GROWTH = 200 * 1024 * 1024  # bytes of resident memory the flood may add

pytestmark = [pytest.mark.slow]


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_flood_of_unknown_topics_and_metric_names_stays_bounded(tmp_path: Path) -> None:
    rng = random.Random(13)
    port = free_port()
    with Mosquitto(tmp_path / "broker") as broker:
        text = f"""
site: {{id: flood, name: Flood Clinic}}
database: {{data_dir: {tmp_path / "data"}}}
api: {{port: {port}, cookie_secure: false}}
mqtt: {{url: "mqtt://127.0.0.1:{broker.port}", client_id: flood-agent}}
rules:  # the fridge's temperature is watched, so junk names can't crowd it out
  - {{id: fridge-warm, metric: temperature_c, match: {{kinds: [fridge]}}, above: 8, severity: warning,
      message: "{{name}} is at {{value}}"}}
equipment:
  - {{id: fridge-1, name: Fridge 1, kind: fridge, location: Pharmacy}}
"""
        runtime = Runtime(load_config_text(text, file="flood.yaml", environ={})).build()
        with RunningAgent(runtime):
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="the agent's MQTT")
            before = rss()
            publisher = QosPublisher(broker.port, "flood-publisher")
            try:
                for n in range(FLOOD):
                    publisher.publish(f"facility/flood/equipment/ghost-{n}/temperature_c", b"4.0")
                for _ in range(FLOOD):
                    name = "".join(rng.choices(string.ascii_lowercase, k=12))
                    publisher.publish(f"facility/flood/equipment/fridge-1/{name}", b"1.0")
                publisher.publish("facility/flood/equipment/fridge-1/temperature_c", b"5.5")
                publisher.wait_acked(120)
            finally:
                publisher.close()

            def counted() -> float:
                """Messages accounted for: readings in, inputs dropped (by reason), and sightings of
                unknown sources (their table's counts, plus any metric of unknown ones pruned)."""
                body = httpx.get(f"{base}/metrics", timeout=30).text
                total = 0.0
                for line in body.splitlines():
                    name = line.split("{", 1)[0].split(" ", 1)[0]
                    if name in ("facility_readings_in_total", "facility_readings_dropped_total") or (
                        "unknown" in name and name.endswith("_total")
                    ):
                        total += float(line.rsplit(" ", 1)[1])
                runtime.unknown.flush()
                with runtime.sessions() as session:
                    total += session.scalar(select(func.coalesce(func.sum(UnknownSource.count), 0))) or 0
                return total

            wait_until(lambda: counted() >= 2 * FLOOD + 1, timeout=300, interval=1, what="every flooded message to be counted")
            wait_until(
                lambda: any(r.metric == "temperature_c" and r.value_num == 5.5 for r in _latest(runtime)),
                timeout=60,
                what="the real reading sent after the flood",
            )
            runtime.unknown.flush()
            metrics = httpx.get(f"{base}/metrics", timeout=30)
            with runtime.sessions() as session:
                unknown_rows = session.scalar(select(func.count()).select_from(UnknownSource)) or 0
                fridge_metrics = session.scalar(
                    select(func.count()).select_from(LatestReading).where(LatestReading.subject == "fridge-1")
                ) or 0
            grown = rss() - before
    assert len(metrics.content) <= MAX_METRICS_BYTES, f"/metrics is {len(metrics.content)} bytes"
    assert grown <= MAX_RSS_GROWTH, f"resident memory grew by {grown // 2**20} MiB"
    assert unknown_rows <= MAX_UNKNOWN_ROWS, f"{unknown_rows} unknown sources kept"
    # The cap, plus the watched temperature admitted past it.
    assert fridge_metrics <= MAX_METRICS_PER_SUBJECT + 1, f"fridge-1 has {fridge_metrics} metrics"


def _latest(runtime: Runtime) -> list[LatestReading]:
    with runtime.sessions() as session:
        return list(session.scalars(select(LatestReading).where(LatestReading.subject == "fridge-1")))
