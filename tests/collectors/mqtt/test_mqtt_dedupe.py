"""Which repeated messages are copies (dropped, acked) and which are new readings, without a broker."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest

from collectors.mqtt.batching import Batcher
from collectors.mqtt.config import MqttSettings
from collectors.mqtt.subscriber import MqttSubscriber
from rules.reading import Reading
from tests.support.wait import wait_until

TOPIC = "facility/site-a/equipment/fridge-1/temperature_c"


class Sink:
    """Stores at once, or holds on_stored until release() (a slow commit)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.hold = False
        self.held: list[Callable[[], None]] = []

    def submit(self, readings: Sequence[Reading], *, on_stored: Callable[[], None] | None = None) -> None:
        self.readings.extend(readings)
        if on_stored is not None:
            if self.hold:
                self.held.append(on_stored)
            else:
                on_stored()

    def release(self) -> None:
        held, self.held = self.held, []
        for callback in held:
            callback()

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        pass

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        pass


class Client:
    def __init__(self) -> None:
        self.acks: list[int] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acks.append(mid)


@pytest.fixture
def wired() -> Iterator[tuple[MqttSubscriber, Sink, Client]]:
    sink, client = Sink(), Client()
    sub = MqttSubscriber(MqttSettings(client_id="dedupe"), "site-a", sink, known_equipment={"fridge-1"})
    sub._client = client  # type: ignore[assignment]
    sub._connected = True
    batcher = Batcher(sub._submit_batch, max_items=1, max_delay=0)
    sub._batcher = batcher
    batcher.start()
    yield sub, sink, client
    batcher.stop()


def deliver(sub: MqttSubscriber, client: Client, payload: bytes, mid: int, dup: bool = False) -> None:
    msg = mqtt.MQTTMessage(mid=mid, topic=TOPIC.encode())
    msg.payload, msg.qos, msg.dup = payload, 1, dup
    sub._on_message(client, None, msg)  # type: ignore[arg-type]


def settle(sub: MqttSubscriber, sink: Sink, client: Client, readings: int, acks: int) -> None:
    wait_until(
        lambda: len(sink.readings) == readings and len(client.acks) == acks,
        5,
        0.005,
        what=f"{readings} readings and {acks} acks",
    )


def test_same_value_twice_without_timestamp_is_two_readings(
    wired: tuple[MqttSubscriber, Sink, Client],
) -> None:
    sub, sink, client = wired
    deliver(sub, client, b"4.0", mid=1)
    deliver(sub, client, b"4.0", mid=2)
    settle(sub, sink, client, readings=2, acks=2)


def test_redelivery_of_an_unacked_message_is_a_copy(wired: tuple[MqttSubscriber, Sink, Client]) -> None:
    sub, sink, client = wired
    sink.hold = True
    deliver(sub, client, b"4.0", mid=5)
    wait_until(lambda: len(sink.readings) == 1, 5, 0.005)
    deliver(sub, client, b"4.0", mid=5, dup=True)  # the broker resends before our ack went out
    assert client.acks == [] and sub.stats.duplicates == 1
    sink.release()
    settle(sub, sink, client, readings=1, acks=2)  # both copies acked once the first is stored


def test_a_reused_packet_id_after_an_ack_is_a_new_reading(wired: tuple[MqttSubscriber, Sink, Client]) -> None:
    sub, sink, client = wired
    deliver(sub, client, b"4.0", mid=5)
    settle(sub, sink, client, readings=1, acks=1)
    deliver(sub, client, b"4.0", mid=5, dup=True)  # same id, same text, but the first was acked
    settle(sub, sink, client, readings=2, acks=2)
    assert sub.stats.duplicates == 0


def test_same_timestamped_reading_is_one_observation(wired: tuple[MqttSubscriber, Sink, Client]) -> None:
    sub, sink, client = wired
    payload = json.dumps({"value": 4.0, "ts": 1_790_000_000}).encode()
    deliver(sub, client, payload, mid=1)
    deliver(sub, client, payload, mid=2)  # a publisher's resend: no dup flag, same observation
    settle(sub, sink, client, readings=1, acks=2)
    assert sub.stats.duplicates == 1
