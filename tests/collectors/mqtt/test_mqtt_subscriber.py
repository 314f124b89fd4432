"""The subscriber against a private mosquitto: delivery, acks after storage, sessions, alerts out."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from mqtt_memory_sink import MemorySink
from paho.mqtt.enums import CallbackAPIVersion

from collectors.mqtt.config import MqttSettings
from collectors.mqtt.subscriber import MqttSubscriber
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session, wait_until

SITE = "site-a"
FRIDGE_TOPIC = "facility/site-a/equipment/fridge-1/temperature_c"
EQUIPMENT = {"fridge-1", "fridge-2", "door-1"}


def settings_for(broker: Mosquitto, client_id: str, protocol: str = "5", **extra: object) -> MqttSettings:
    return MqttSettings.model_validate(
        {
            "url": broker.url,
            "client_id": client_id,
            "protocol": protocol,
            "reconnect_min": "1s",
            "reconnect_max": "2s",
            "keepalive": "5s",
            **extra,
        }
    )


class Harness:
    """Subscribers and publishers made by one test, with their sessions removed at the end."""

    def __init__(self, broker: Mosquitto) -> None:
        self.broker = broker
        self.subscribers: list[MqttSubscriber] = []
        self.sinks: list[MemorySink] = []
        self.sessions: set[tuple[str, str]] = set()
        self.publishers: list[QosPublisher] = []

    def subscriber(
        self, client_id: str = "agent-test", protocol: str = "5", sink: MemorySink | None = None, **kw: object
    ) -> tuple[MqttSubscriber, MemorySink]:
        sink = sink or MemorySink()
        self.sinks.append(sink)
        sub = MqttSubscriber(
            settings_for(self.broker, client_id, protocol),
            SITE,
            sink,
            known_equipment=lambda: EQUIPMENT,
            known_skus={"GLV-M"},
            **kw,  # type: ignore[arg-type]
        )
        self.subscribers.append(sub)
        self.sessions.add((client_id, protocol))
        return sub, sink

    def start(self, sub: MqttSubscriber) -> None:
        sub.start()
        wait_until(lambda: sub.connected, 15, what="subscriber to connect")
        # The SUBACK comes right after CONNACK; a round trip through the broker proves it.
        wait_until(lambda: sub.stats.connects >= 1, 5)

    def publisher(self, client_id: str = "pub-test", protocol: str = "5") -> QosPublisher:
        pub = QosPublisher(self.broker.port, client_id, protocol)
        self.publishers.append(pub)
        return pub

    def close(self) -> None:
        for sub in self.subscribers:
            sub.stop(drain_timeout=1)
        for sink in self.sinks:
            sink.close()
        if not self.broker.running:
            return
        for pub in self.publishers:
            pub.close(remove=True)
        for client_id, protocol in self.sessions:
            remove_session(self.broker.port, client_id, protocol)


@pytest.fixture
def harness(broker: Mosquitto) -> Iterator[Harness]:
    h = Harness(broker)
    try:
        yield h
    finally:
        h.close()


def reading_payload(i: int) -> bytes:
    # A payload timestamp per message makes each one a distinct observation.
    ts = datetime.fromtimestamp(1_790_000_000 + i / 1000, tz=UTC).isoformat()
    return json.dumps({"value": i, "ts": ts}).encode()


def fridge_values(sink: MemorySink) -> list[float]:
    """Values of the fridge-1 readings, in arrival order (probes and counts left out)."""
    with sink._lock:
        return [float(r.value) for r in sink.readings if r.subject == "fridge-1"]


def wait_subscribed(h: Harness, sub: MqttSubscriber, sink: MemorySink) -> None:
    """Publish a probe until it arrives: the subscription is live."""
    pub = h.publisher("probe-" + sub.settings.client_id)
    before = sink.count()
    pub.publish("facility/site-a/equipment/fridge-2/probe", b"1")
    wait_until(lambda: sink.count() > before, 10, what="probe reading")


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_readings_flow_and_are_acked_after_storage(harness: Harness, protocol: str) -> None:
    sub, sink = harness.subscriber(protocol=protocol)
    harness.start(sub)
    pub = harness.publisher(protocol=protocol)
    for i in range(200):
        pub.publish(FRIDGE_TOPIC, reading_payload(i))
    pub.publish("facility/site-a/supplies/GLV-M/count", b"17")
    pub.wait_acked()
    wait_until(lambda: sink.count() == 201, 15, what="201 readings")
    assert sorted(fridge_values(sink)) == [float(i) for i in range(200)]
    wait_until(lambda: sub.stats.stored == 201, 5)
    assert sub.stats.snapshot()["rejected"] == {}


def test_unacked_reading_is_redelivered_to_the_next_session(harness: Harness) -> None:
    """Manual acks: a reading the sink never committed stays on the broker."""
    hung = MemorySink(hold=True)
    sub, _ = harness.subscriber(client_id="agent-ack", sink=hung)
    harness.start(sub)
    pub = harness.publisher()
    for i in range(5):
        pub.publish(FRIDGE_TOPIC, reading_payload(i))
    pub.wait_acked()
    wait_until(lambda: sub.stats.accepted == 5, 10, what="5 accepted")
    sub.stop(drain_timeout=0.2)

    sub2, sink2 = harness.subscriber(client_id="agent-ack")
    harness.start(sub2)
    wait_until(lambda: sink2.count() == 5, 15, what="5 redelivered readings")
    assert sorted(fridge_values(sink2)) == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_agent_restart_loses_nothing(harness: Harness, protocol: str) -> None:
    """Stop the subscriber, publish 1,000 at QoS 1, start it again: all arrive, each once."""
    sub, sink = harness.subscriber(client_id=f"agent-restart-{protocol}", protocol=protocol)
    harness.start(sub)
    sub.stop()
    pub = harness.publisher(protocol=protocol)
    for i in range(1000):
        pub.publish(FRIDGE_TOPIC, reading_payload(i))
    pub.wait_acked()

    sub2, sink2 = harness.subscriber(client_id=f"agent-restart-{protocol}", protocol=protocol)
    harness.start(sub2)
    wait_until(lambda: sink2.count() >= 1000, 30, what="1,000 readings after restart")
    # Anything extra would have arrived with the backlog; a probe after it flushes the pipe.
    wait_subscribed(harness, sub2, sink2)
    assert sink.count() == 0
    assert sorted(fridge_values(sink2)) == [float(i) for i in range(1000)]


def test_broker_restart_mid_stream_exactly_once(harness: Harness, broker: Mosquitto) -> None:
    """Stop mosquitto (persistence on) while readings flow, start it on the same port:
    every QoS 1 reading published before, during and after arrives exactly once."""
    total = 6000
    sub, sink = harness.subscriber(client_id="agent-broker-restart")
    harness.start(sub)
    pub = harness.publisher(client_id="pub-broker-restart")
    published = threading.Event()
    outage_at = 2000

    def produce() -> None:
        for i in range(total):
            if i == outage_at:
                broker.stop()
                # Both sides notice the outage before the next 2,000 are published.
                wait_until(lambda: not sub.connected and not pub.client.is_connected(), 15, what="outage")
            elif i == outage_at + 2000:
                broker.start()
            pub.publish(FRIDGE_TOPIC, reading_payload(i))
        published.set()

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(120)
    assert published.is_set()
    pub.wait_acked(60)
    wait_until(lambda: sink.count() >= total, 60, what=f"{total} readings after broker restart")
    wait_subscribed(harness, sub, sink)
    got = sorted(fridge_values(sink))
    missing = sorted(set(range(total)) - {int(v) for v in got})
    assert not missing, f"{len(missing)} missing, first {missing[:10]}"
    assert len(got) == total, f"{len(got) - total} duplicates reached the sink"
    assert sub.stats.connects >= 2
    print("broker restart stats", sub.stats.snapshot())


def test_alert_changes_are_published_as_json_qos1_not_retained(harness: Harness, broker: Mosquitto) -> None:
    sub, sink = harness.subscriber(client_id="agent-alerts")
    harness.start(sub)
    received: list[mqtt.MQTTMessage] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="alert-watcher", protocol=mqtt.MQTTv5)
    watcher.on_message = lambda c, u, m: received.append(m)
    watcher.connect("127.0.0.1", broker.port)
    watcher.subscribe("facility/site-a/alerts/#", qos=1)
    watcher.loop_start()
    try:
        wait_until(watcher.is_connected, 10)
        # Publish until the watcher's subscription is live (SUBACK is asynchronous).
        wait_until(
            lambda: sub.publish_alert(7, {"state": "probe"}) and bool(received),
            10,
            0.2,
            what="watcher subscribed",
        )
        opened = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        assert sub.publish_alert("42", {"state": "open", "severity": "critical", "opened_at": opened})
        wait_until(lambda: any(m.topic.endswith("/42") for m in received), 10, what="alert 42")
        msg = next(m for m in received if m.topic.endswith("/42"))
        assert msg.topic == "facility/site-a/alerts/42"
        assert (msg.qos, msg.retain) == (1, False)
        assert json.loads(msg.payload) == {
            "state": "open",
            "severity": "critical",
            "opened_at": "2026-11-26T12:00:00+00:00",
        }
        # Our own alerts are not readings, whatever the protocol does with them.
        assert sink.count() == 0 and sub.stats.snapshot()["rejected"] == {}
        with pytest.raises(ValueError, match="topic level"):
            sub.publish_alert("a/b", {})
    finally:
        watcher.disconnect()
        watcher.loop_stop()


def test_resubscribes_when_the_broker_lost_the_session(harness: Harness, broker: Mosquitto) -> None:
    """A broker restarted without its persistence file forgets subscriptions: on_connect renews them."""
    sub, sink = harness.subscriber(client_id="agent-resub")
    harness.start(sub)
    wait_subscribed(harness, sub, sink)
    for pub in harness.publishers:
        pub.close(remove=True)
    harness.publishers.clear()
    broker.stop()
    for db in (broker.workdir / "data").glob("*.db"):
        db.unlink()
    broker.start()
    wait_until(lambda: sub.stats.connects >= 2 and sub.connected, 20, what="reconnect")
    pub = harness.publisher("pub-resub")
    pub.publish(FRIDGE_TOPIC, reading_payload(5))
    wait_until(lambda: fridge_values(sink) == [5.0], 15, what="reading after resubscribe")


def test_unknown_source_keeps_last_payload_and_count(harness: Harness) -> None:
    sub, sink = harness.subscriber(client_id="agent-unknown")
    harness.start(sub)
    pub = harness.publisher("pub-unknown")
    topic = "facility/site-a/equipment/freezer-9/temperature_c"
    for value in (b"-20.5", b"-19.0"):
        pub.publish(topic, value)
    wait_until(lambda: topic in sink.unknown and sink.unknown[topic].count == 2, 10, what="unknown source")
    assert sink.unknown[topic].payload == "-19.0"
    assert sub.stats.unknown_sources == 2 and sink.count() == 0


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_retained_values_need_a_timestamp(harness: Harness, broker: Mosquitto, protocol: str) -> None:
    """A retained value replayed on subscribe is old; without a ts it must not pass for fresh."""
    pub = harness.publisher(f"pub-retained-{protocol}")
    stamped = "facility/site-a/equipment/fridge-1/temperature_c"
    bare = "facility/site-a/equipment/fridge-2/temperature_c"
    for topic, payload in ((stamped, reading_payload(3)), (bare, b"4.5")):
        info = pub.client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(10)
    try:
        sub, sink = harness.subscriber(client_id=f"agent-retained-{protocol}", protocol=protocol)
        harness.start(sub)
        wait_until(lambda: sub.stats.rejected["retained_without_ts"] == 1, 10, what="the bare retained value")
        wait_until(lambda: fridge_values(sink) == [3.0], 10, what="the stamped retained value")
        assert all(r.subject == "fridge-1" for r in sink.readings)
    finally:
        for topic in (stamped, bare):  # an empty retained message clears it
            pub.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(10)


class BrokenRejectSink(MemorySink):
    def reject(self, *, source: str, reason: str, detail: str) -> None:
        if reason == "not_finite":
            raise RuntimeError("metrics store down")
        super().reject(source=source, reason=reason, detail=detail)


def test_failures_inside_the_handler_never_stop_the_loop(harness: Harness) -> None:
    """A sink that raises on reject and a known-equipment lookup that raises: counted, acked, loop goes on."""
    calls = [0]

    def flaky_equipment() -> set[str]:
        calls[0] += 1
        if calls[0] == 2:
            raise KeyError("config reload in progress")
        return EQUIPMENT

    sink = BrokenRejectSink()
    sub, _ = harness.subscriber(client_id="agent-broken", sink=sink)
    sub._interpreter = dataclasses.replace(sub._interpreter, known_equipment=flaky_equipment)
    harness.start(sub)
    pub = harness.publisher("pub-broken")
    pub.publish(FRIDGE_TOPIC, reading_payload(1))  # lookup 1: fine
    pub.publish(FRIDGE_TOPIC, reading_payload(2))  # lookup 2: raises → internal_error, acked
    pub.publish(FRIDGE_TOPIC, b"NaN")  # sink.reject raises → still acked
    pub.publish(FRIDGE_TOPIC, reading_payload(3))
    pub.wait_acked()
    wait_until(lambda: fridge_values(sink) == [1.0, 3.0], 10, what="the good readings around the failures")
    # One for the failed lookup, one for the sink that could not record the NaN.
    assert sub.stats.rejected["internal_error"] == 2
    assert sub.stats.rejected["not_finite"] == 1
    assert sub.connected
    # Acked: a new session with the same id gets nothing back.
    sub.stop()
    sub2, sink2 = harness.subscriber(client_id="agent-broken")
    harness.start(sub2)
    wait_subscribed(harness, sub2, sink2)
    assert fridge_values(sink2) == [] and sub2.stats.snapshot()["rejected"] == {}
