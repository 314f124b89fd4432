from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from collectors.mqtt.config import MqttSettings, TopicMapping

SAMPLE = Path(__file__).resolve().parents[3] / "collectors" / "mqtt" / "sample-config.yaml"


def test_sample_config_is_valid() -> None:
    doc = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    settings = MqttSettings.model_validate(doc["mqtt"])
    assert settings.use_tls and settings.port == 8883
    assert settings.session_expiry == timedelta(days=1)
    assert [m.kind for m in settings.mappings] == ["reading", "reading", "count", "weight"]


def test_defaults_follow_design() -> None:
    s = MqttSettings()
    assert s.qos == 1
    assert s.session_expiry == timedelta(days=1)
    assert s.topics.readings == "facility/{site}/equipment/{equipment}/{metric}"
    assert s.topics.counts == "facility/{site}/supplies/{sku}/count"
    assert s.topics.alerts == "facility/{site}/alerts/{alert_id}"
    assert (s.host, s.port, s.use_tls) == ("127.0.0.1", 1883, False)


def test_inline_password_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match="password_env"):
        MqttSettings.model_validate({"username": "a", "password": "secret"})


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        MqttSettings.model_validate({"uri": "mqtt://x"})


def test_password_from_env_and_file(tmp_path: Path) -> None:
    s = MqttSettings(username="u", password_env="MQTT_PW")
    assert s.resolve_password({"MQTT_PW": "from-env"}) == "from-env"
    with pytest.raises(ValueError, match="not set"):
        s.resolve_password({})
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    assert MqttSettings(password_file=secret).resolve_password({}) == "from-file"
    with pytest.raises(ValueError, match="password_file"):
        MqttSettings(password_file=tmp_path / "missing").resolve_password({})
    with pytest.raises(ValidationError, match="not both"):
        MqttSettings(password_env="X", password_file=secret)


def test_durations_use_the_house_parser() -> None:
    s = MqttSettings.model_validate({"session_expiry": "2h30m", "keepalive": 30, "reconnect_max": "5m"})
    assert s.session_expiry == timedelta(hours=2, minutes=30)
    assert s.keepalive == timedelta(seconds=30)
    with pytest.raises(ValidationError, match="duration"):
        MqttSettings.model_validate({"keepalive": "soon"})


@pytest.mark.parametrize("url", ["http://x:1883", "mqtt://", "mqtt://host:99999", "broker:1883"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        MqttSettings(url=url)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"pattern": "sensors/{equipment}"}, "metric"),
        ({"pattern": "sensors/{metric}"}, "equipment"),
        ({"pattern": "shelves/x", "kind": "count"}, "sku"),
        ({"pattern": "a/#/b", "equipment": "e", "metric": "m"}, "last segment"),
        ({"pattern": "a/x{equipment}/{metric}"}, "whole"),
        ({"pattern": "a/{metric}/{metric}", "equipment": "e"}, "twice"),
        ({"pattern": "a/{equipment}", "metric": "Temp C"}, "dotted lowercase"),
        ({"pattern": "a/{equipment}/{metric}", "json_path": "data..x"}, "dotted"),
    ],
)
def test_bad_mappings_say_why(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TopicMapping.model_validate(mapping)


def test_tls_cert_needs_key() -> None:
    with pytest.raises(ValidationError, match="go together"):
        MqttSettings.model_validate({"tls": {"cert_file": "/c.pem"}})


@pytest.mark.parametrize(
    ("topics", "message"),
    [
        ({"readings": "facility/{site}/eq/{id}/{metric}"}, "equipment"),
        ({"counts": "facility/{site}/shelf/count"}, "sku"),
        ({"alerts": "facility/{site}/alerts"}, "alert_id"),
        ({"watch": "facility/#/x"}, "last segment"),
    ],
)
def test_default_topics_keep_their_named_segments(topics: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MqttSettings.model_validate({"topics": topics})
