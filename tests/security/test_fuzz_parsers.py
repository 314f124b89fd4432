"""Hypothesis against the three parsers that read what others send: the config loader (a file an
operator edits), the MQTT payload parser (any device on the broker) and SNMP decoding (any
device that answers). Each either gives a result or a clear refusal; none raises anything else,
and none takes time out of proportion to its input (strings are bounded before any regex)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.type import univ

from agent.config import AgentConfig, load_config_text
from agent.config.loader import ConfigError
from collectors.mqtt.payload import ParsedValue, Rejected, parse_payload
from collectors.snmp.fetch import FetchedData
from collectors.snmp.profiles import profile_for
from collectors.snmp.profiles.base import MAX_TEXT, as_text
from collectors.snmp.wire import MAX_OCTETS, Raw, to_raw
from tests.support.snmp import target

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))

# YAML-ish text: real keys and junk around them, so the loader's deeper paths are reached too.
KEYS = ["site", "id", "api", "port", "mqtt", "url", "equipment", "rules", "snmp", "community", "smtp", "username",
        "security", "database", "supplies", "sku", "for", "above", "- ", ": ", "\n  ", "{", "}", "[", "]", "&a", "*a", "!!python/object"]
yaml_text = st.lists(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), max_size=40).map("".join)


@FAST
@given(text=yaml_text)
def test_the_config_loader_gives_a_config_or_problems_never_a_crash(text: str) -> None:
    try:
        config = load_config_text(text, file="fuzz.yaml", environ={})
    except ConfigError as exc:
        assert exc.problems, "a refusal names at least one problem"
        for problem in exc.problems:
            assert "fuzz.yaml" in str(problem)
        return
    assert isinstance(config, AgentConfig)


@FAST
@given(
    env=st.dictionaries(
        st.sampled_from(["FACILITY_API__PORT", "FACILITY_SITE__ID", "FACILITY_API__COOKIE_SECURE", "FACILITY_X__Y", "FACILITY_API__IDLE_TIMEOUT"]),
        st.text(max_size=20),
        max_size=4,
    )
)
def test_environment_overrides_are_checked_like_the_file(env: dict[str, str]) -> None:
    try:
        load_config_text("site: {id: clinic}\n", file="f.yaml", environ=env)
    except ConfigError as exc:
        assert exc.problems


json_like = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["value", "ts", "v", "x"]), children, max_size=4),
    max_leaves=12,
)


@FAST
@given(payload=st.one_of(st.binary(max_size=300), json_like.map(lambda d: __import__("json").dumps(d).encode())))
def test_the_mqtt_payload_parser_gives_a_value_or_a_named_rejection(payload: bytes) -> None:
    for json_path in (None, ("value",), ("a", "b")):
        result = parse_payload(payload, received_at=NOW, json_path=json_path)
        assert isinstance(result, ParsedValue | Rejected)
        if isinstance(result, Rejected):
            assert result.reason


def test_a_deeply_nested_or_oversized_payload_is_rejected() -> None:
    assert isinstance(parse_payload(b"[" * 100_000, received_at=NOW), Rejected)
    assert parse_payload(b"1" * 70_000, received_at=NOW).reason == "too_large"  # type: ignore[union-attr]


raw_values = st.one_of(
    st.builds(Raw, st.just("int"), st.just("Integer32"), st.integers(min_value=-(2**40), max_value=2**40)),
    st.builds(Raw, st.just("octets"), st.just("OctetString"), st.binary(max_size=600)),
    st.builds(Raw, st.just("octets"), st.just("OctetString"), st.text(alphabet="()[]pnPN:# -ablack", max_size=600).map(str.encode)),
    st.sampled_from([Raw("noSuchObject", "noSuchObject"), Raw("noSuchInstance", "noSuchInstance"), Raw("null", "Null")]),
)


@FAST
@given(data=st.data())
def test_snmp_replies_of_any_shape_are_decoded_or_reported(data: st.DataObject) -> None:
    for name in ("printer", "ups"):
        profile = profile_for(name)
        tgt = target("fuzz", 161, profile=name)
        plan = profile.plan(tgt)
        fetched = FetchedData()
        for oid in plan.scalars:
            fetched.scalars[oid] = data.draw(raw_values)
        rows = data.draw(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 20)), max_size=4, unique=True))
        for table in plan.tables:
            fetched.tables[table.name] = {column: {row: data.draw(raw_values) for row in rows} for column in table.columns}
        out = profile.parse(tgt, fetched)
        for measurement in out.measurements:
            assert len(str(measurement.value)) <= MAX_TEXT and len(measurement.metric) <= 4 * MAX_TEXT


def test_snmp_strings_are_cut_before_any_regex() -> None:
    huge = univ.OctetString(b"(" * 1_000_000)
    raw = to_raw(huge)
    assert isinstance(raw.value, bytes) and len(raw.value) == MAX_OCTETS
    assert len(as_text(raw)) == MAX_TEXT
    # A printer description made to be slow for a backtracking regex still parses (it is cut first).
    profile = profile_for("printer")
    tgt = target("fuzz", 161, profile="printer")
    plan = profile.plan(tgt)
    fetched = FetchedData()
    for table in plan.tables:
        fetched.tables[table.name] = {column: {(1, 1): Raw("octets", "OctetString", b"(" * 1_000_000)} for column in table.columns}
    profile.parse(tgt, fetched)
