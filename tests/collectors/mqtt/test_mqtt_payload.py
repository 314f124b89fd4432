from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.mqtt.payload import ParsedValue, Rejected, parse_payload

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ok(payload: bytes, **kw: object) -> ParsedValue:
    result = parse_payload(payload, received_at=NOW, **kw)  # type: ignore[arg-type]
    assert isinstance(result, ParsedValue), result
    return result


def rejected(payload: bytes, **kw: object) -> str:
    result = parse_payload(payload, received_at=NOW, **kw)  # type: ignore[arg-type]
    assert isinstance(result, Rejected), result
    return result.reason


@pytest.mark.parametrize(
    ("payload", "value"),
    [
        (b"4.2", 4.2),
        (b" -18 \n", -18.0),
        (b"1e3", 1000.0),
        (b'{"value": 4.2}', 4.2),
        (b'{"value": 7}', 7.0),
        (b'{"value": true}', 1.0),
        (b'{"value": "12.5"}', 12.5),
        (b'{"value": "open"}', "open"),
        (b"on_battery", "on_battery"),
        (b"OPEN", "open"),
        (b"false", 0.0),
        (b'"closed"', "closed"),
    ],
)
def test_accepted_shapes(payload: bytes, value: float | str) -> None:
    parsed = ok(payload)
    assert parsed.value == value
    assert parsed.ts == NOW and not parsed.ts_from_payload


def test_timestamp_from_payload_iso_and_unix() -> None:
    iso = ok(b'{"value": 1, "ts": "2026-11-26T11:59:00Z"}')
    assert iso.ts == datetime(2026, 11, 26, 11, 59, tzinfo=UTC) and iso.ts_from_payload
    offset = ok(b'{"value": 1, "ts": "2026-11-26T12:59:00+01:00"}')
    assert offset.ts == datetime(2026, 11, 26, 11, 59, tzinfo=UTC)
    unix = ok(json.dumps({"value": 1, "ts": NOW.timestamp() - 60}).encode())
    assert unix.ts == NOW - timedelta(minutes=1)
    millis = ok(json.dumps({"value": 1, "ts": int(NOW.timestamp() * 1000)}).encode())
    assert millis.ts == NOW
    assert ok(b'{"value": 1, "ts": null}').ts == NOW


def test_json_path_and_ts_path() -> None:
    doc = b'{"data": {"temp": 5.5, "time": "2026-11-26T11:00:00Z"}, "readings": [{"v": 1}, {"v": 2}]}'
    parsed = ok(doc, json_path=("data", "temp"), ts_path=("data", "time"))
    assert parsed.value == 5.5 and parsed.ts == datetime(2026, 11, 26, 11, tzinfo=UTC)
    assert ok(doc, json_path=("readings", "1", "v")).value == 2.0
    assert ok(doc, json_path=("data", "temp"), ts_path=None).ts == NOW
    assert rejected(doc, json_path=("data", "humidity")) == "missing_value"
    assert rejected(b"5.5", json_path=("data", "temp")) == "missing_value"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"value": 4.', "not_json"),
        (b"[1, 2", "not_json"),
        (b'{"value": [1]}', "wrong_type"),
        (b'{"value": null}', "wrong_type"),
        (b"null", "wrong_type"),
        (b'{"value": {"a": 1}}', "wrong_type"),
        (b"[1, 2]", "wrong_type"),
        (b'{"temp": 4}', "missing_value"),
        (b"NaN", "not_finite"),
        (b"nan", "not_finite"),
        (b"Infinity", "not_finite"),
        (b"-inf", "not_finite"),
        (b'{"value": NaN}', "not_finite"),
        (b'{"value": -Infinity}', "not_finite"),
        (b'{"value": 1e999}', "not_finite"),
        (b'{"value": "inf"}', "not_finite"),
        (b"\xff\xfe\x00", "bad_utf8"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"4.2 degrees", "bad_state"),
        (b"hello world", "bad_state"),
        (b"x" * 65, "bad_state"),
        (b'{"value": 1, "ts": "yesterday"}', "bad_timestamp"),
        (b'{"value": 1, "ts": "2026-11-26T11:00:00"}', "bad_timestamp"),  # no zone
        (b'{"value": 1, "ts": 0}', "bad_timestamp"),  # clock never set
        (b'{"value": 1, "ts": "2026-11-27T12:00:00Z"}', "bad_timestamp"),  # a day ahead
        (b'{"value": 1, "ts": [1]}', "bad_timestamp"),
        (b'{"value": 1, "ts": 1e300}', "bad_timestamp"),
    ],
)
def test_rejections_have_stable_reasons(payload: bytes, reason: str) -> None:
    assert rejected(payload) == reason


def test_too_large_is_checked_before_anything_else() -> None:
    assert rejected(b"1" * (1024 * 1024)) == "too_large"
    assert rejected(b"1" * 100, max_bytes=99) == "too_large"


def test_deep_json_is_refused_not_crashed() -> None:
    assert rejected(b"[" * 100_000 + b"]" * 100_000, max_bytes=10**6) in ("not_json", "wrong_type")


@settings(max_examples=600, deadline=None)
@given(payload=st.binary(max_size=300))
def test_parser_never_raises_on_bytes(payload: bytes) -> None:
    result = parse_payload(payload, received_at=NOW)
    assert isinstance(result, ParsedValue | Rejected)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(
    doc=st.dictionaries(st.sampled_from(["value", "ts", "data", "x"]), json_values, max_size=4),
    path=st.sampled_from([None, ("data",), ("data", "0"), ("value", "x")]),
)
def test_parser_never_raises_on_json(doc: dict[str, object], path: tuple[str, ...] | None) -> None:
    payload = json.dumps(doc).encode()  # Python's json writes NaN/Infinity too: they must be refused
    result = parse_payload(payload, received_at=NOW, json_path=path)
    assert isinstance(result, ParsedValue | Rejected)
    if isinstance(result, ParsedValue) and isinstance(result.value, float):
        assert result.value == result.value and abs(result.value) != float("inf")
