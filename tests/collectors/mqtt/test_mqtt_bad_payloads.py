"""The bad-payload storm: 10,000 malformed messages interleaved with good ones."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Iterator

import pytest
from mqtt_memory_sink import MemorySink

from collectors.mqtt.config import MqttSettings
from collectors.mqtt.subscriber import MqttSubscriber
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session, wait_until

GOOD_TOPIC = "facility/site-a/equipment/fridge-1/temperature_c"
ONE_MB = 1024 * 1024

# (reason, topic, payload): one of each kind of bad input, cycled to 10,000.
BAD_KINDS: list[tuple[str, str, bytes]] = [
    ("not_json", GOOD_TOPIC, b'{"value": 4.'),
    ("not_json", GOOD_TOPIC, b"[1, 2"),
    ("wrong_type", GOOD_TOPIC, b'{"value": [1, 2]}'),
    ("wrong_type", GOOD_TOPIC, b'{"value": null}'),
    ("wrong_type", GOOD_TOPIC, b'{"value": {"c": 4}}'),
    ("wrong_type", "facility/site-a/supplies/GLV-M/count", b"plenty"),
    ("not_finite", GOOD_TOPIC, b"NaN"),
    ("not_finite", GOOD_TOPIC, b'{"value": Infinity}'),
    ("not_finite", GOOD_TOPIC, b"-inf"),
    ("not_finite", GOOD_TOPIC, b'{"value": 1e999}'),
    ("bad_utf8", GOOD_TOPIC, b"\xff\xfe\xfa"),
    ("bad_utf8", GOOD_TOPIC, b'{"value": "\xc3\x28"}'),
    ("unknown_source", "facility/site-a/equipment/fridge-404/temperature_c", b"4.0"),
    ("unknown_source", "facility/site-a/supplies/NO-SUCH-SKU/count", b"3"),
    ("bad_topic", "facility/site-a/equipment/fridge-1", b"4.0"),
    ("bad_topic", "facility/site-a/equipment/fridge-1/temperature_c/extra", b"4.0"),
    ("bad_topic", "facility/site-a/equipment/fridge-1/Temp C", b"4.0"),
    ("bad_timestamp", GOOD_TOPIC, b'{"value": 4, "ts": "not a time"}'),
    ("bad_timestamp", GOOD_TOPIC, b'{"value": 4, "ts": "2026-01-01T00:00:00"}'),
    ("empty", GOOD_TOPIC, b""),
    ("bad_state", GOOD_TOPIC, b"4.2 degrees celsius"),
    ("missing_value", GOOD_TOPIC, b'{"temp": 4.2}'),
    ("negative_count", "facility/site-a/supplies/GLV-M/count", b"-3"),
]
BIG = 20  # 1 MB payloads among the 10,000


def storm(good: int, bad: int, seed: int = 7) -> tuple[list[tuple[str, bytes, int | None]], Counter[str]]:
    messages: list[tuple[str, bytes, int | None]] = []
    expected: Counter[str] = Counter()
    for i in range(good):
        messages.append((GOOD_TOPIC, json.dumps({"value": i, "ts": 1_790_000_000 + i / 1000}).encode(), i))
    for i in range(bad - BIG):
        reason, topic, payload = BAD_KINDS[i % len(BAD_KINDS)]
        messages.append((topic, payload, None))
        expected[reason] += 1
    for i in range(BIG):
        payload = (b"1" if i % 2 else b'{"value": "') * ONE_MB
        messages.append((GOOD_TOPIC, payload, None))
        expected["too_large"] += 1
    random.Random(seed).shuffle(messages)
    return messages, expected


@pytest.fixture
def subscriber(broker: Mosquitto) -> Iterator[tuple[MqttSubscriber, MemorySink]]:
    sink = MemorySink()
    settings = MqttSettings(url=broker.url, client_id="agent-storm", reconnect_min="1s", reconnect_max="2s")  # type: ignore[arg-type]
    sub = MqttSubscriber(
        settings,
        "site-a",
        sink,
        known_equipment=lambda: {"fridge-1"},
        known_skus={"GLV-M"},
        monotonic=lambda: 1000.0,  # a stopped clock: the log limiter lets one line per reason through
    )
    sub.start()
    try:
        wait_until(lambda: sub.connected, 15, what="subscriber")
        yield sub, sink
    finally:
        sub.stop(drain_timeout=1)
        sink.close()
        remove_session(broker.port, "agent-storm")


def test_bad_payload_storm(
    broker: Mosquitto, subscriber: tuple[MqttSubscriber, MemorySink], caplog: pytest.LogCaptureFixture
) -> None:
    sub, sink = subscriber
    caplog.set_level(logging.WARNING, logger="collectors.mqtt.subscriber")
    good, bad = 2000, 10_000
    messages, expected = storm(good, bad)
    pub = QosPublisher(broker.port, "pub-storm")
    try:
        for topic, payload, _ in messages:
            pub.publish(topic, payload)
        pub.wait_acked(120)

        def all_seen() -> bool:
            snap = sub.stats.snapshot()
            return sink.count() >= good and sum(snap["rejected"].values()) + snap["unknown_sources"] >= bad

        wait_until(all_seen, 120, what="the storm to be processed")

        # Every good reading arrived, once.
        assert sorted(int(r.value) for r in sink.readings) == list(range(good))  # type: ignore[arg-type]
        # Every bad one is counted under its reason, in the collector and in the sink.
        snap = sub.stats.snapshot()
        rejected = Counter(snap["rejected"])
        assert snap["unknown_sources"] == expected["unknown_source"]
        assert rejected == expected - Counter({"unknown_source": expected["unknown_source"]})
        assert sink.rejects == rejected
        unknown = sink.unknown["facility/site-a/equipment/fridge-404/temperature_c"]
        assert unknown.payload == "4.0" and unknown.count > 0
        # The log is rate-limited: one line per reason while the clock stands still.
        lines = [r for r in caplog.records if "mqtt message rejected" in r.getMessage()]
        assert sorted(r.reason for r in lines) == sorted(rejected)  # type: ignore[attr-defined]
        # And the subscriber still runs.
        assert sub.connected
        pub.publish(GOOD_TOPIC, b'{"value": 99999, "ts": 1790009999}')
        wait_until(lambda: sink.count() == good + 1, 15, what="a reading after the storm")
    finally:
        pub.close()
