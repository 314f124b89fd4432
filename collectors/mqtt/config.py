"""Settings of the MQTT collector: the `mqtt` section of the agent's config file.

Secrets never live only in the file: the password comes from an environment variable
(`password_env`) or a file (`password_file`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.durations import parse_duration

_SEGMENT_NAME = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
METRIC_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


def pattern_names(pattern: str) -> list[str]:
    """Names of the `{name}` segments of a pattern, in order."""
    return [m.group(1) for seg in pattern.split("/") if (m := _SEGMENT_NAME.fullmatch(seg))]


def check_pattern(pattern: str) -> None:
    """Raise ValueError unless every segment is literal, `{name}`, `+`, or a final `#`."""
    if not pattern:
        raise ValueError("a topic pattern can't be empty")
    segments = pattern.split("/")
    seen: set[str] = set()
    for index, seg in enumerate(segments):
        if seg == "#":
            if index != len(segments) - 1:
                raise ValueError(f"{pattern!r}: '#' may only be the last segment")
            continue
        if seg == "+":
            continue
        match = _SEGMENT_NAME.fullmatch(seg)
        if match:
            name = match.group(1)
            if name in seen:
                raise ValueError(f"{pattern!r}: segment {{{name}}} appears twice")
            seen.add(name)
            continue
        if any(ch in seg for ch in "{}+#"):
            raise ValueError(
                f"{pattern!r}: segment {seg!r} must be literal text, a whole {{name}}, '+' or a final '#'"
            )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsSettings(_Strict):
    """TLS towards the broker. `mqtts://` turns it on; these files refine it."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    insecure: bool = False  # skip the host name check (never in production)

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file go together: give both or neither")
        return self


class TopicSettings(_Strict):
    """The default topics (DESIGN.md). `{site}` is replaced by the site id."""

    readings: str = "facility/{site}/equipment/{equipment}/{metric}"
    counts: str = "facility/{site}/supplies/{sku}/count"
    weights: str = "facility/{site}/supplies/{sku}/weight_g"
    alerts: str = "facility/{site}/alerts/{alert_id}"
    # Also subscribed, so that a message under the site's tree that matches no pattern is
    # counted as bad_topic instead of vanishing. null turns it off.
    watch: str | None = "facility/{site}/#"

    @field_validator("readings", "counts", "weights")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        check_pattern(value)
        return value

    @model_validator(mode="after")
    def _named_segments(self) -> TopicSettings:
        needs = {"readings": ("equipment", "metric"), "counts": ("sku",), "weights": ("sku",)}
        for key, names in needs.items():
            pattern = getattr(self, key)
            for name in names:
                if name not in pattern_names(pattern):
                    raise ValueError(f"topics.{key} {pattern!r} needs a {{{name}}} segment")
        return self

    @field_validator("alerts")
    @classmethod
    def _alert_topic(cls, value: str) -> str:
        if "{alert_id}" not in value or "+" in value or "#" in value:
            raise ValueError("the alert topic needs an {alert_id} segment and no wildcards")
        return value

    @field_validator("watch")
    @classmethod
    def _valid_watch(cls, value: str | None) -> str | None:
        if value is not None:
            check_pattern(value)
        return value


ValueKind = Literal["reading", "count", "weight"]


class TopicMapping(_Strict):
    """A custom topic pattern, e.g. `sensors/{equipment}/{metric}` with JSON path `data.temp`.

    Named segments ({equipment}, {metric}, {sku}, {site}, or any other name, which is ignored)
    match one level; `+` matches one level without a name; `#` at the end matches the rest.
    Fixed `equipment`, `metric` or `sku` stand in for segments the topic does not carry.
    """

    pattern: str
    kind: ValueKind = "reading"
    equipment: str | None = None
    metric: str | None = None
    sku: str | None = None
    json_path: str | None = Field(None, description="dotted path to the value, e.g. data.temp")
    ts_path: str | None = Field("ts", description="dotted path to the timestamp; null: time of receipt")
    unit: str = ""
    # The values are states (e.g. "open"/"closed"), even where a rule or unit would want numbers.
    state: bool = False

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        check_pattern(value)
        return value

    @field_validator("metric")
    @classmethod
    def _valid_metric(cls, value: str | None) -> str | None:
        if value is not None and not METRIC_PATTERN.match(value):
            raise ValueError(f"metric {value!r} must be dotted lowercase, e.g. temperature_c")
        return value

    @field_validator("json_path", "ts_path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(not part for part in value.split("."))):
            raise ValueError(f"path {value!r} must be dotted names like data.temp")
        return value

    @model_validator(mode="after")
    def _has_a_subject(self) -> TopicMapping:
        names = pattern_names(self.pattern)
        if self.kind == "reading":
            if "equipment" not in names and self.equipment is None:
                raise ValueError(f"{self.pattern!r}: give an {{equipment}} segment or a fixed equipment")
            if "metric" not in names and self.metric is None:
                raise ValueError(f"{self.pattern!r}: give a {{metric}} segment or a fixed metric")
            if self.state and self.metric is None:
                raise ValueError(f"{self.pattern!r}: state: true needs a fixed metric, e.g. metric: door.state")
        elif "sku" not in names and self.sku is None:
            raise ValueError(
                f"{self.pattern!r}: a {self.kind} mapping needs a {{sku}} segment or a fixed sku"
            )
        return self


class MqttSettings(_Strict):
    """Connection, session and topic settings of the MQTT collector."""

    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = "facility-agent"
    protocol: Literal["5", "3.1.1"] = "5"
    username: str | None = None
    password_env: str | None = Field(None, description="name of the environment variable with the password")
    password_file: Path | None = Field(None, description="file whose first line is the password")
    tls: TlsSettings = TlsSettings()
    qos: Literal[0, 1] = 1
    session_expiry: timedelta = timedelta(days=1)
    keepalive: timedelta = timedelta(seconds=60)
    reconnect_min: timedelta = timedelta(seconds=1)
    reconnect_max: timedelta = timedelta(seconds=60)
    # How many QoS 1 messages the broker may have in flight to us (MQTT 5 Receive Maximum).
    # Acks wait for storage, so a small window caps throughput at window / commit time.
    receive_maximum: int = Field(5000, ge=1, le=65535)
    max_payload_bytes: int = Field(65536, ge=16)
    max_future_skew: timedelta = timedelta(minutes=5)
    topics: TopicSettings = TopicSettings()
    mappings: list[TopicMapping] = []

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "password" in data:
            raise ValueError(
                "mqtt.password is not read from the config file; put the password in an "
                "environment variable named by mqtt.password_env, or in a file named by mqtt.password_file"
            )
        return data

    @field_validator(
        "session_expiry", "keepalive", "reconnect_min", "reconnect_max", "max_future_skew", mode="before"
    )
    @classmethod
    def _durations(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"url {value!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"url {value!r} has no host")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError(f"url {value!r} has a bad port") from exc
        return value

    @field_validator("client_id")
    @classmethod
    def _valid_client_id(cls, value: str) -> str:
        if not value or len(value.encode()) > 65535:
            raise ValueError("client_id must be a non-empty string; persistent sessions are keyed by it")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.password_env and self.password_file:
            raise ValueError("give mqtt.password_env or mqtt.password_file, not both")
        if self.reconnect_min > self.reconnect_max:
            raise ValueError("mqtt.reconnect_min must not exceed mqtt.reconnect_max")
        if self.reconnect_min.total_seconds() < 1:
            raise ValueError("mqtt.reconnect_min must be at least 1s")
        if self.keepalive.total_seconds() < 1:
            raise ValueError("mqtt.keepalive must be at least 1s")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def use_tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts" or self.tls.ca_file is not None

    def resolve_password(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The password from the environment or the file; raise ValueError saying what is missing."""
        if self.password_env:
            env = os.environ if environ is None else environ
            if self.password_env not in env:
                raise ValueError(f"mqtt.password_env names {self.password_env!r}, which is not set")
            return env[self.password_env]
        if self.password_file:
            try:
                text = self.password_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"mqtt.password_file {self.password_file}: {exc.strerror}") from exc
            lines = text.splitlines()
            return lines[0] if lines else ""
        return None
