"""/healthz, /readyz and /metrics of a running agent, with the API on a free port."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.config import load_config_text
from agent.runtime import Runtime
from tests.support.running_agent import RunningAgent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_health_ready_and_metrics(tmp_path: Path) -> None:
    port = free_port()
    config = load_config_text(
        f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}}}
api: {{port: {port}}}
equipment:
  - {{id: fridge-2, name: Fridge 2, kind: fridge, location: Pharmacy}}
""",
        environ={},
    )
    runtime = Runtime(config).build()
    with RunningAgent(runtime):
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        ready = httpx.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["checks"]["storage"] == "ok" and body["checks"]["scheduler"] == "ok"
        runtime.pipeline.reject(source="mqtt", reason="not_json", detail="x")
        metrics = httpx.get(f"{base}/metrics", timeout=10)
        assert metrics.status_code == 200
        families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
        for name in ("facility_pipeline_queue_depth", "facility_readings_dropped", "facility_alerts", "facility_up"):
            assert name in families, sorted(families)
        dropped = {tuple(sorted(s.labels.items())): s.value for s in families["facility_readings_dropped"].samples if s.name.endswith("_total")}
        assert dropped[(("reason", "not_json"), ("source", "mqtt"))] == 1
