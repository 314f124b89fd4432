"""Alert changes out: JSON on `facility/<site>/alerts/<alert-id>`, QoS 1, not retained."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum


def alert_topic(template: str, site_id: str, alert_id: str | int) -> str:
    """The topic for one alert; the id must be usable as one topic level."""
    text = str(alert_id)
    if not text or any(ch in text for ch in "/+#\x00"):
        raise ValueError(f"alert id {text!r} can't be a topic level")
    return template.replace("{site}", site_id).replace("{alert_id}", text)


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.name.lower() if isinstance(value.value, int) else value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def encode_alert(payload: Mapping[str, object]) -> bytes:
    """JSON with datetimes as ISO 8601 and enums by name; anything else odd as text."""
    return json.dumps(dict(payload), default=_plain, separators=(",", ":"), allow_nan=False).encode()


# (topic, payload bytes, qos, retain) -> queued?
PublishFn = Callable[[str, bytes, int, bool], bool]


class AlertPublisher:
    """Formats alert changes and hands them to an MQTT client's publish."""

    def __init__(self, publish: PublishFn, *, template: str, site_id: str, qos: int = 1) -> None:
        self._publish = publish
        self._template = template
        self._site_id = site_id
        self._qos = qos

    def publish_alert(self, alert_id: str | int, payload: Mapping[str, object]) -> bool:
        """Queue one alert change; False if the client refused it (it keeps QoS 1 while offline)."""
        topic = alert_topic(self._template, self._site_id, alert_id)
        return self._publish(topic, encode_alert(payload), self._qos, False)
