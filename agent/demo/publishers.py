"""Simulated fridge sensors and smart shelves that publish to the demo's broker on the agent's topics.

Every `interval` seconds each device publishes what its script says at that moment:
- fridges publish `temperature_c` to facility/<site>/equipment/<id>/temperature_c as JSON;
- shelves publish their item count to facility/<site>/supplies/<sku>/count as a bare number.
One fridge's door is left open (it warms past 8 °C and stays there) and one shelf is emptied
down to below its reorder point, so that the demo shows an excursion and a low supply.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

Script = Callable[[float], float]  # seconds since the demo started → value


def steady(value: float, wobble: float = 0.0, period_s: float = 60.0) -> Script:
    return lambda t: round(value + wobble * math.sin(2 * math.pi * t / period_s), 2)


def ramp(start: float, per_second: float, end: float) -> Script:
    """From start, changing per_second, until end; then stays at end."""

    def value(t: float) -> float:
        v = start + per_second * t
        return round(min(v, end) if per_second >= 0 else max(v, end), 2)

    return value


def steps(start: int, every_s: float, down_to: int) -> Script:
    """A shelf being emptied one item every every_s seconds, down to down_to."""
    return lambda t: float(max(start - int(t // every_s), down_to))


@dataclass(frozen=True)
class Device:
    topic: str
    script: Script
    json_payload: bool


def clinic_devices(site: str) -> list[Device]:
    """The demo clinic's sensors and shelves; ids and skus match the demo config."""

    def fridge(equipment: str, script: Script) -> Device:
        return Device(f"facility/{site}/equipment/{equipment}/temperature_c", script, json_payload=True)

    def shelf(sku: str, script: Script) -> Device:
        return Device(f"facility/{site}/supplies/{sku}/count", script, json_payload=False)

    return [
        fridge("fridge-pharmacy-1", steady(4.6, wobble=0.4)),
        # The door of fridge 2 was left open: above 8 °C after about 4 s, levelling at 9.4 °C.
        fridge("fridge-pharmacy-2", ramp(7.0, 0.3, 9.4)),
        fridge("fridge-ward-3", steady(5.1, wobble=0.3, period_s=45)),
        # Ward 3's gloves are taken one box every 3 s: at the reorder point (20) after 12 s.
        shelf("gloves-nitrile-m", steps(24, 3.0, 18)),
        shelf("syringes-5ml", steady(140)),
        shelf("masks-surgical", steady(310)),
        # The smart shelves themselves report their battery (equipment on the board).
        Device(f"facility/{site}/equipment/shelf-ward-3/battery_pct", steady(88), json_payload=False),
        Device(f"facility/{site}/equipment/shelf-central/battery_pct", steady(95), json_payload=False),
    ]


class Publishers:
    """One MQTT client publishing every device's value every interval seconds, in a thread."""

    def __init__(self, *, port: int, protocol: str, devices: list[Device], interval: float = 2.0) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.devices = devices
        self.interval = interval
        self.published = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.monotonic()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="facility-demo-devices",
            protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(1, 5)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def start(self) -> Publishers:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="demo-devices", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.client.is_connected():
                self.publish_once(time.monotonic() - self._started)
            self._stop.wait(self.interval)

    def publish_once(self, t: float) -> None:
        now = datetime.now(UTC).isoformat()
        for device in self.devices:
            value = device.script(t)
            payload = json.dumps({"value": value, "ts": now}) if device.json_payload else f"{value:g}"
            self.client.publish(device.topic, payload, qos=1)
            self.published += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()
