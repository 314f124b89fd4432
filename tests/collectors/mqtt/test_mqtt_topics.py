from __future__ import annotations

import pytest

from collectors.mqtt.config import MqttSettings, TopicMapping
from collectors.mqtt.topics import TopicError, TopicMatch, TopicRouter, filter_covers


def router(*mappings: TopicMapping, **topics: object) -> TopicRouter:
    settings = MqttSettings.model_validate({"mappings": [m.model_dump() for m in mappings], "topics": topics})
    return TopicRouter.from_settings(settings, "site-a")


def test_default_reading_topic() -> None:
    m = router().match("facility/site-a/equipment/fridge-1/temperature_c")
    assert isinstance(m, TopicMatch)
    assert (m.route.kind, m.subject, m.metric) == ("reading", "fridge-1", "temperature_c")


def test_default_count_and_weight_topics() -> None:
    r = router()
    count = r.match("facility/site-a/supplies/GLV-M/count")
    weight = r.match("facility/site-a/supplies/GLV-M/weight_g")
    assert isinstance(count, TopicMatch) and (count.route.kind, count.subject, count.metric) == (
        "count",
        "GLV-M",
        "count",
    )
    assert isinstance(weight, TopicMatch) and weight.route.kind == "weight"


def test_other_sites_are_not_ours() -> None:
    assert isinstance(router().match("facility/site-b/equipment/fridge-1/temperature_c"), TopicError)


@pytest.mark.parametrize(
    "topic",
    [
        "facility/site-a/equipment/fridge-1",  # too short
        "facility/site-a/equipment/fridge-1/temp/extra",  # too long
        "facility/site-a/equipment/fridge-1/Temperature C",  # metric not dotted lowercase
        "facility/site-a/equipment//temperature_c",  # empty id
        "facility/site-a/nonsense",
    ],
)
def test_wrong_shapes_under_the_site_are_bad_topics(topic: str) -> None:
    r = router()
    m = r.match(topic)
    if isinstance(m, TopicMatch):  # caught by the watch filter
        assert m.route.kind == "watch"
    else:
        assert m.reason == "bad_topic"


def test_own_alert_topic_is_recognised() -> None:
    m = router().match("facility/site-a/alerts/42")
    assert isinstance(m, TopicMatch) and m.route.kind == "alert"


def test_custom_mapping_wins_and_fills_fixed_parts() -> None:
    r = router(
        TopicMapping(pattern="sensors/{equipment}/{metric}", json_path="data.temp"),
        TopicMapping(pattern="zigbee/{equipment}/door", metric="door.state"),
        TopicMapping(pattern="scales/+/gloves", kind="weight", sku="GLV-M"),
        TopicMapping(pattern="site/{site}/shelves/{sku}/#", kind="count"),
    )
    s = r.match("sensors/fridge-2/temperature_c")
    assert isinstance(s, TopicMatch) and (s.subject, s.metric, s.route.json_path) == (
        "fridge-2",
        "temperature_c",
        ("data", "temp"),
    )
    d = r.match("zigbee/fridge-2/door")
    assert isinstance(d, TopicMatch) and (d.subject, d.metric) == ("fridge-2", "door.state")
    w = r.match("scales/room-4/gloves")
    assert isinstance(w, TopicMatch) and (w.route.kind, w.subject) == ("weight", "GLV-M")
    c = r.match("site/site-a/shelves/MASK-1/left/3")
    assert isinstance(c, TopicMatch) and (c.route.kind, c.subject) == ("count", "MASK-1")
    assert isinstance(r.match("site/site-b/shelves/MASK-1/x"), TopicError)


def test_subscriptions_leave_out_covered_filters() -> None:
    r = router(
        TopicMapping(pattern="sensors/{equipment}/{metric}"),
        TopicMapping(pattern="sensors/{equipment}/door", metric="door.state"),
        TopicMapping(pattern="facility/{site}/extra/{equipment}/{metric}"),
    )
    assert sorted(r.subscriptions()) == ["facility/site-a/#", "sensors/+/+"]
    assert sorted(router(watch=None).subscriptions()) == [
        "facility/site-a/equipment/+/+",
        "facility/site-a/supplies/+/count",
        "facility/site-a/supplies/+/weight_g",
    ]


@pytest.mark.parametrize(
    ("general", "specific", "covers"),
    [
        ("a/#", "a/b/c", True),
        ("a/#", "a", True),
        ("a/+", "a/b", True),
        ("a/+", "a/+", True),
        ("a/b", "a/+", False),
        ("a/+", "a/#", False),
        ("a/+/c", "a/b/+", False),
        ("#", "x/y", True),
        ("a/b", "a/b/c", False),
    ],
)
def test_filter_covers(general: str, specific: str, covers: bool) -> None:
    assert filter_covers(general, specific) is covers


def test_site_id_must_fit_in_a_topic() -> None:
    with pytest.raises(ValueError, match="site id"):
        TopicRouter.from_settings(MqttSettings(), "a/b")


def test_a_metric_name_is_capped_like_an_id() -> None:
    r = router()
    ok = r.match("facility/site-a/equipment/fridge-1/" + "a" * 120)
    long = r.match("facility/site-a/equipment/fridge-1/" + "a" * 10_000)
    assert isinstance(ok, TopicMatch)
    assert isinstance(long, TopicError) and long.reason == "bad_topic" and "at most 120" in long.detail


def test_a_state_mapping_needs_a_fixed_metric() -> None:
    assert TopicMapping(pattern="zigbee/{equipment}/door", metric="door.state", state=True).state
    with pytest.raises(ValueError, match="state: true needs a fixed metric"):
        TopicMapping(pattern="zigbee/{equipment}/{metric}", state=True)
