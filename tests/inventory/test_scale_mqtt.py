"""A scale publishing weights over a real (private) mosquitto: counts from the unit weight, and a
sudden drop flagged as an unexpected drop — through the MQTT collector, the pipeline and storage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from agent.config import AgentConfig
from collectors.mqtt.config import MqttSettings
from collectors.mqtt.messages import ScaleSpec
from collectors.mqtt.subscriber import MqttSubscriber
from tests.agent.harness import config_from
from tests.inventory.harness import InventoryHarness
from tests.support.clock import FakeClock
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.wait import wait_until

CONFIG = """
site: {id: site-a, name: St Mary's East}
supplies:
  - {sku: GLV-M, name: Gloves M, unit: box, location: Ward 3, vendor: Medline, par: 200, reorder_point: 40,
     pack_size: 10, lead_time_days: 2, scale: {grams_per_unit: 250, tare_g: 1200}}
"""
TOPIC = "facility/site-a/supplies/GLV-M/weight_g"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    mosquitto = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield mosquitto
    finally:
        mosquitto.stop()


def grams(units: int) -> float:
    return 1200 + 250 * units + 7.5  # a little noise on the scale rounds away


def payload(units: int, at: datetime) -> bytes:
    return json.dumps({"value": grams(units), "ts": at.isoformat()}).encode()


def test_scale_weights_become_counts_and_a_sudden_drop_is_flagged(
    broker: Mosquitto, db_url: str, clock: FakeClock
) -> None:
    config: AgentConfig = config_from(CONFIG)
    start = clock()
    clock.set(start + timedelta(days=11))  # payloads carry their own (past) timestamps
    h = InventoryHarness(config, db_url, clock)
    pipeline = h.start()
    scales = {s.sku: ScaleSpec(s.scale.grams_per_unit, s.scale.tare_g) for s in config.supplies if s.scale}
    client_id = "agent-scale-test"
    sub = MqttSubscriber(
        MqttSettings(url=broker.url, client_id=client_id),
        "site-a",
        pipeline,
        known_equipment=frozenset(),
        known_skus=frozenset({"GLV-M"}),
        scales=scales,
        clock=clock,
    )
    pub: QosPublisher | None = None
    try:
        sub.start()
        wait_until(lambda: sub.connected, 15, what="subscriber to connect")
        pub = QosPublisher(broker.port, "scale-publisher")

        # Day 0: 150 boxes. Resent until stored, since the subscription may still be on its way.
        def first_stored() -> bool:
            assert pub is not None
            pub.publish(TOPIC, payload(150, start))
            pipeline.flush()
            return h.item("GLV-M").on_hand is not None

        wait_until(first_stored, 15, interval=0.2, what="the first weight to be stored")
        # Ten days of steady use, 10 boxes a day, then 70 gone within an hour.
        for day in range(1, 10):
            pub.publish(TOPIC, payload(150 - 10 * day, start + timedelta(days=day)))
        pub.publish(TOPIC, payload(0, start + timedelta(days=9, hours=1)))
        pub.wait_acked()

        def drop_recorded() -> bool:
            pipeline.flush()
            return any(r.change == "unexpected_drop" for r in h.records("GLV-M"))

        wait_until(drop_recorded, 15, what="the sudden drop to be recorded")
    finally:
        sub.stop(drain_timeout=1)
        if pub is not None:
            pub.close(remove=True)
        remove_session(broker.port, client_id)
        pipeline.stop()

    records = h.records("GLV-M")
    assert [r.value for r in records] == [150.0 - 10 * d for d in range(10)] + [0.0]
    assert [r.change for r in records] == ["count"] + ["consumption"] * 9 + ["unexpected_drop"]
    assert all(r.source == "mqtt" for r in records)
    item = h.item("GLV-M")
    assert item.on_hand == 0
    assert item.daily_use == pytest.approx(90 / (9 + 1 / 24))  # the drop is not counted as use
    alerts = {a.rule_id: a for a in h.open_alerts()}
    assert "supply-unexpected-drop.GLV-M" in alerts
    drop = alerts["supply-unexpected-drop.GLV-M"]
    assert drop.message.startswith("Gloves M in Ward 3: 60 boxes went at once")
    assert "misplaced or removed" in drop.message
    assert "supply-out.GLV-M" in alerts and "supply-low.GLV-M" not in alerts  # out replaces low
    h.db.dispose()
