"""A supply's history through the public surfaces: a shelf and a scale count over MQTT (with their
own timestamps), a person counts over HTTP, and GET /supplies/{sku}/counts reads it all back."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent.cli import main as cli
from agent.config import load_config
from agent.runtime import Runtime
from tests.e2e.test_ops_endpoints import free_port
from tests.support.clock import FakeClock
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SHELF = "facility/riverside/supplies/GLV-M/count"
SCALE = "facility/riverside/supplies/GLV-M/weight_g"


def config_text(tmp_path: Path, api_port: int, broker_port: int) -> str:
    return f"""
site: {{id: riverside, name: Riverside Clinic}}
database: {{data_dir: {tmp_path / "data"}, flush_interval: 50ms}}
api: {{port: {api_port}}}
mqtt: {{url: "mqtt://127.0.0.1:{broker_port}", client_id: agent-history-e2e}}
supplies:
  - {{sku: GLV-M, name: Gloves M, unit: box, location: Store A, par: 150, reorder_point: 20,
     lead_time_days: 2, scale: {{grams_per_unit: 10}}}}
"""


def at(days: float) -> str:
    return (NOW + timedelta(days=days)).isoformat()


def test_shelf_scale_and_person_counts_read_back_in_order_and_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    with Mosquitto(tmp_path / "mosquitto") as broker:
        path = tmp_path / "agent.yaml"
        path.write_text(config_text(tmp_path, port, broker.port))
        runtime = Runtime(load_config(str(path)), clock=FakeClock(NOW)).build()
        (tmp_path / "pw").write_text("correct horse battery")
        assert cli(["-c", str(path), "user", "add", "amira", "--role", "staff", "--name", "Amira Haddad",
                    "--password-file", str(tmp_path / "pw")]) == 0
        assert cli(["-c", str(path), "token", "create", "--user", "amira", "--name", "tablet"]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        publisher = QosPublisher(broker.port, "shelf-and-scale")
        try:
            with RunningAgent(runtime):
                wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
                sent = [
                    (SHELF, 100, at(-5)),       # first count
                    (SCALE, 900, at(-4)),       # 90 boxes: a day's use
                    (SHELF, 80, at(-3)),        # another day's use
                    (SCALE, 400, at(-3 + 1 / 24)),  # 40 boxes gone within the hour
                ]
                for n, (topic, value, ts) in enumerate(sent, start=1):
                    # One at a time: each must be stored before the next (a shelf's late count is ignored).
                    def stored(n: int = n, topic: str = topic, value: int = value, ts: str = ts) -> bool:
                        publisher.publish(topic, json.dumps({"value": value, "ts": ts}))
                        publisher.wait_acked()
                        r = api.get("/supplies/GLV-M/counts")
                        return r.status_code == 200 and len(r.json()["items"]) >= n

                    wait_until(stored, timeout=20, interval=0.5, what=f"count {n} to be stored")
                person = api.post("/supplies/GLV-M/counts", json={"count": 120, "comment": "delivery"})
                assert person.status_code == 201, person.text

                page = api.get("/supplies/GLV-M/counts")
                assert page.status_code == 200, page.text
                items = page.json()["items"]
                assert [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)  # newest first
                oldest_first = list(reversed(items))
                assert [i["after"] for i in oldest_first] == [100, 90, 80, 40, 120]
                assert [i["before"] for i in oldest_first] == [None, 100, 90, 80, 40]
                assert [i["change"] for i in oldest_first] == [None, -10, -10, -40, 80]
                assert [i["classification"] for i in oldest_first] == [
                    "first_count", "use", "use", "unexpected_drop", "restock"]
                assert [i["source"] for i in oldest_first] == ["mqtt"] * 4 + ["person"]
                assert [i["topic"] for i in oldest_first] == [SHELF, SCALE, SHELF, SCALE, None]
                assert oldest_first[-1]["person"] == "amira" and oldest_first[-1]["person_name"] == "Amira Haddad"
                assert oldest_first[-1]["comment"] == "delivery"
                assert oldest_first[0]["at"].startswith("2026-03-05T12:00")

                # Cursor paging walks the same records; from/to pick a range.
                walked, cursor = [], None
                while True:
                    r = api.get("/supplies/GLV-M/counts", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
                    walked += r.json()["items"]
                    cursor = r.json()["next_cursor"]
                    if not cursor:
                        break
                assert [i["id"] for i in walked] == [i["id"] for i in items]
                ranged = api.get("/supplies/GLV-M/counts", params={"from": at(-4.5), "to": at(-2.5)}).json()["items"]
                assert [i["after"] for i in ranged] == [40, 80, 90]

                as_csv = api.get("/supplies/GLV-M/counts", headers={"Accept": "text/csv"})
                assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
                rows = list(csv.DictReader(io.StringIO(as_csv.text)))
                assert [r["after"] for r in rows] == ["120", "40", "80", "90", "100"]
                assert [r["classification"] for r in rows][:2] == ["restock", "unexpected_drop"]
                assert rows[0]["person_name"] == "Amira Haddad" and rows[1]["topic"] == SCALE

                # The drop's alert speaks the item's unit.
                alerts = api.get("/alerts", params={"state": "active"}).json()["items"]
                drop = next(a for a in alerts if a["rule_id"] == "supply-unexpected-drop.GLV-M")
                assert drop["message"].startswith("Gloves M in Store A: 40 boxes went at once")

                # Bad parameters: 422 naming the field; an unknown item: 404.
                for params, field in (({"from": "yesterday"}, "from"), ({"to": "2026-03-01T00:00:00"}, "to"),
                                      ({"from": at(0), "to": at(-1)}, "to"), ({"cursor": "nonsense"}, "cursor"),
                                      ({"limit": 0}, "limit")):
                    r = api.get("/supplies/GLV-M/counts", params=params)
                    assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)
                assert api.get("/supplies/NOPE/counts").status_code == 404
                assert httpx.get(f"http://127.0.0.1:{port}/api/v1/supplies/GLV-M/counts").status_code == 401
        finally:
            api.close()
            publisher.close(remove=True)
            remove_session(broker.port, "agent-history-e2e")
