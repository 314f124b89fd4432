"""Payload parsing: bytes from the wire into a value and a timestamp, or a labelled rejection.

Accepted shapes:
- a bare number: ``4.2``;
- JSON with a value and an optional timestamp: ``{"value": 4.2, "ts": "2026-01-05T10:00:00Z"}``;
- JSON of any shape with a configured path to the value (``data.temp``) and to the timestamp;
- a short state string: ``open``, ``on_battery`` (lowercased), or ``true``/``false``.

Nothing here raises on bad input: every failure is a `Rejected` with a stable reason label.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.reading import Value

# Labels used in counters and logs. Keep them stable: dashboards and alerts key on them.
NOT_JSON = "not_json"
WRONG_TYPE = "wrong_type"
NOT_FINITE = "not_finite"
TOO_LARGE = "too_large"
BAD_UTF8 = "bad_utf8"
EMPTY = "empty"
BAD_STATE = "bad_state"
MISSING_VALUE = "missing_value"
BAD_TIMESTAMP = "bad_timestamp"
NEGATIVE_COUNT = "negative_count"

_STATE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\-]{0,63}$")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that can't become a reading: a stable reason label and a human detail."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class ParsedValue:
    value: Value
    ts: datetime
    ts_from_payload: bool


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> float:
    raise _NonFinite(name)


# NaN/Infinity literals are valid for Python's json but not JSON; refuse them here.
# One decoder for all: json.loads with options builds a new one per call (about 5 µs).
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _loads(text: str) -> Any:
    return _DECODER.decode(text)


def dig(doc: Any, path: tuple[str, ...]) -> Any:
    """Follow a dotted path through dicts (keys) and lists (integer indexes); _MISSING if absent."""
    node = doc
    for key in path:
        if isinstance(node, dict):
            node = node.get(key, _MISSING)
        elif isinstance(node, list) and key.lstrip("-").isdigit():
            index = int(key)
            node = node[index] if -len(node) <= index < len(node) else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def coerce_value(raw: Any) -> Value | Rejected:
    """A JSON value into a float or a state, or a rejection."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float):
        try:
            number = float(raw)
        except OverflowError:
            return Rejected(NOT_FINITE, "number too large for a float")
        if not math.isfinite(number):
            return Rejected(NOT_FINITE, f"value {raw!r} is not finite")
        return number
    if isinstance(raw, str):
        return _text_value(raw.strip())
    if raw is None:
        return Rejected(WRONG_TYPE, "value is null")
    return Rejected(WRONG_TYPE, f"value is a JSON {'object' if isinstance(raw, dict) else 'array'}")


def _text_value(text: str) -> Value | Rejected:
    """Text that is a number, true/false, or a state token."""
    if not text:
        return Rejected(EMPTY, "empty value")
    first = text[0]
    if first.isdigit() or first in "+-.":
        try:
            number = float(text)
        except ValueError:
            return Rejected(BAD_STATE, f"{text[:40]!r} is neither a number nor a state")
        if not math.isfinite(number):
            return Rejected(NOT_FINITE, f"value {text[:40]!r} is not finite")
        return number
    lowered = text.lower()
    if lowered in ("nan", "inf", "infinity"):
        return Rejected(NOT_FINITE, f"value {text[:40]!r} is not finite")
    if lowered == "true":
        return 1.0
    if lowered == "false":
        return 0.0
    if _STATE.match(text):
        return lowered
    return Rejected(BAD_STATE, f"{text[:40]!r} is neither a number nor a short state")


def parse_timestamp(raw: Any, *, received_at: datetime, max_future: timedelta) -> datetime | Rejected:
    """ISO 8601 text with a zone, or Unix seconds (or milliseconds), as aware UTC."""
    try:
        if isinstance(raw, str):
            ts = datetime.fromisoformat(raw.strip())
            if ts.tzinfo is None:
                return Rejected(BAD_TIMESTAMP, f"timestamp {raw[:40]!r} has no time zone")
        elif isinstance(raw, int | float) and not isinstance(raw, bool):
            seconds = float(raw)
            if not math.isfinite(seconds):
                return Rejected(BAD_TIMESTAMP, "timestamp is not finite")
            if seconds > 1e11:  # milliseconds since the epoch
                seconds /= 1000.0
            ts = datetime.fromtimestamp(seconds, tz=UTC)
        else:
            return Rejected(BAD_TIMESTAMP, f"timestamp of type {type(raw).__name__}")
    except (ValueError, OverflowError, OSError):
        return Rejected(BAD_TIMESTAMP, f"timestamp {str(raw)[:40]!r} is not ISO 8601 or Unix time")
    ts = ts.astimezone(UTC)
    if ts < _EARLIEST:
        return Rejected(BAD_TIMESTAMP, f"timestamp {ts.isoformat()} is before 2000 (device clock unset?)")
    if ts > received_at + max_future:
        return Rejected(BAD_TIMESTAMP, f"timestamp {ts.isoformat()} is in the future")
    return ts


def parse_payload(
    payload: bytes,
    *,
    received_at: datetime,
    json_path: tuple[str, ...] | None = None,
    ts_path: tuple[str, ...] | None = ("ts",),
    max_bytes: int = 65536,
    max_future: timedelta = timedelta(minutes=5),
) -> ParsedValue | Rejected:
    """Turn one payload into a value and its timestamp (from the payload, else received_at)."""
    if len(payload) > max_bytes:
        return Rejected(TOO_LARGE, f"{len(payload)} bytes, more than {max_bytes}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return Rejected(BAD_UTF8, f"invalid UTF-8 at byte {exc.start}")
    if not text:
        return Rejected(EMPTY, "empty payload")
    if text == "null":  # JSON null, bare: no value (not the state "null")
        return Rejected(WRONG_TYPE, "value is null")

    raw: Any
    ts_raw: Any = _MISSING
    if json_path is not None or text[0] in '{["':
        try:
            doc = _loads(text)
        except _NonFinite as exc:
            return Rejected(NOT_FINITE, f"JSON has {exc}")
        except (ValueError, RecursionError):
            return Rejected(NOT_JSON, f"not JSON: {text[:40]!r}")
        if json_path is not None:
            raw = dig(doc, json_path)
            if raw is _MISSING:
                return Rejected(MISSING_VALUE, f"no value at {'.'.join(json_path)}")
        elif isinstance(doc, dict):
            raw = doc.get("value", _MISSING)
            if raw is _MISSING:
                return Rejected(MISSING_VALUE, "JSON object has no 'value'")
        elif isinstance(doc, str):
            raw = doc
        else:
            return Rejected(WRONG_TYPE, f"JSON {type(doc).__name__} where a number, object or string belongs")
        if ts_path is not None and isinstance(doc, dict | list):
            ts_raw = dig(doc, ts_path)
    else:
        raw = text

    value = coerce_value(raw)
    if isinstance(value, Rejected):
        return value
    if ts_raw is _MISSING or ts_raw is None:
        return ParsedValue(value=value, ts=received_at, ts_from_payload=False)
    ts = parse_timestamp(ts_raw, received_at=received_at, max_future=max_future)
    if isinstance(ts, Rejected):
        return ts
    return ParsedValue(value=value, ts=ts, ts_from_payload=True)
