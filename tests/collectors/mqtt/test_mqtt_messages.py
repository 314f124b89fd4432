from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.mqtt.config import MqttSettings, TopicMapping
from collectors.mqtt.messages import (
    Accepted,
    Ignored,
    MessageInterpreter,
    Rejected,
    ScaleSpec,
    UnknownSource,
)
from collectors.mqtt.topics import TopicRouter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def interpreter(*mappings: TopicMapping) -> MessageInterpreter:
    settings = MqttSettings(mappings=list(mappings))
    return MessageInterpreter(
        router=TopicRouter.from_settings(settings, "site-a"),
        known_equipment=lambda: {"fridge-1", "door-3"},
        known_skus={"GLV-M", "MASK-1"},
        scales={"GLV-M": ScaleSpec(grams_per_unit=5.0, tare_g=200.0)},
    )


def test_reading_from_default_topic() -> None:
    out = interpreter().interpret("facility/site-a/equipment/fridge-1/temperature_c", b"8.4", NOW)
    assert isinstance(out, Accepted)
    r = out.reading
    assert (r.subject, r.metric, r.value, r.ts, r.subject_kind) == (
        "fridge-1",
        "temperature_c",
        8.4,
        NOW,
        "equipment",
    )
    assert r.source == "mqtt:facility/site-a/equipment/fridge-1/temperature_c"


def test_shelf_count_is_a_supply_reading() -> None:
    out = interpreter().interpret("facility/site-a/supplies/MASK-1/count", b'{"value": 12}', NOW)
    assert isinstance(out, Accepted)
    r = out.reading
    assert (r.subject, r.metric, r.value, r.subject_kind, r.unit) == (
        "MASK-1",
        "count",
        12.0,
        "supply",
        "units",
    )


def test_scale_weight_becomes_a_count() -> None:
    out = interpreter().interpret("facility/site-a/supplies/GLV-M/weight_g", b"262.4", NOW)
    assert isinstance(out, Accepted)
    assert (out.reading.metric, out.reading.value) == ("count", 12.0)  # (262.4 - 200) / 5 = 12.48
    empty = interpreter().interpret("facility/site-a/supplies/GLV-M/weight_g", b"150", NOW)
    assert isinstance(empty, Accepted) and empty.reading.value == 0.0  # below tare: none left


def test_scale_without_spec_and_bad_counts() -> None:
    i = interpreter()
    no_scale = i.interpret("facility/site-a/supplies/MASK-1/weight_g", b"100", NOW)
    assert isinstance(no_scale, Rejected) and no_scale.reason == "no_scale"
    neg = i.interpret("facility/site-a/supplies/MASK-1/count", b"-1", NOW)
    assert isinstance(neg, Rejected) and neg.reason == "negative_count"
    state = i.interpret("facility/site-a/supplies/MASK-1/count", b"full", NOW)
    assert isinstance(state, Rejected) and state.reason == "wrong_type"


def test_unknown_sources_are_reported_not_dropped() -> None:
    i = interpreter()
    eq = i.interpret("facility/site-a/equipment/fridge-99/temperature_c", b"4", NOW)
    sku = i.interpret("facility/site-a/supplies/NOPE/count", b"4", NOW)
    assert isinstance(eq, UnknownSource) and eq.subject == "fridge-99"
    assert isinstance(sku, UnknownSource) and sku.subject == "NOPE"


def test_own_alerts_are_ignored_and_strays_are_bad_topics() -> None:
    i = interpreter()
    assert isinstance(i.interpret("facility/site-a/alerts/17", b"{}", NOW), Ignored)
    stray = i.interpret("facility/site-a/equipment/fridge-1", b"4", NOW)
    assert isinstance(stray, Rejected) and stray.reason == "bad_topic"
    elsewhere = i.interpret("other/thing", b"4", NOW)
    assert isinstance(elsewhere, Rejected) and elsewhere.reason == "bad_topic"


def test_custom_json_mapping_and_state() -> None:
    i = interpreter(
        TopicMapping(
            pattern="sensors/{equipment}/{metric}", json_path="data.temp", ts_path="data.time", unit="°C"
        ),
        TopicMapping(pattern="zigbee/{equipment}/contact", metric="door.state", ts_path=None),
    )
    out = i.interpret(
        "sensors/fridge-1/temperature_c", b'{"data": {"temp": 9.1, "time": "2026-11-26T11:58:00Z"}}', NOW
    )
    assert isinstance(out, Accepted) and out.ts_from_payload
    assert (out.reading.value, out.reading.unit, out.reading.ts.minute) == (9.1, "°C", 58)
    door = i.interpret("zigbee/door-3/contact", b"OPEN", NOW)
    assert isinstance(door, Accepted) and (door.reading.metric, door.reading.value) == ("door.state", "open")


def test_scale_spec_must_be_positive() -> None:
    with pytest.raises(ValueError, match="grams_per_unit"):
        ScaleSpec(grams_per_unit=0)


@settings(max_examples=500, deadline=None)
@given(
    topic=st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda a, b, c: f"facility/site-a/{a}/{b}/{c}",
            st.sampled_from(["equipment", "supplies", "alerts", "x"]),
            st.text(max_size=12),
            st.text(max_size=12),
        ),
    ),
    payload=st.binary(max_size=200),
)
def test_interpret_never_raises(topic: str, payload: bytes) -> None:
    out = interpreter().interpret(topic, payload, NOW)
    assert isinstance(out, Accepted | Rejected | UnknownSource | Ignored)
