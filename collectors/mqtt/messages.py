"""One received MQTT message into one outcome: a Reading, a rejection, an unknown source, or ignored.

Pure: no I/O, no clock, no logging. The subscriber does those around it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from collectors.mqtt.payload import NEGATIVE_COUNT, WRONG_TYPE, ParsedValue, Rejected, parse_payload
from collectors.mqtt.topics import TopicError, TopicMatch, TopicRouter
from rules.reading import InvalidReading, Reading, make_reading

UNKNOWN_SOURCE = "unknown_source"
NO_SCALE = "no_scale"
INVALID = "invalid"

Known = Callable[[], Collection[str]] | Collection[str]


@dataclass(frozen=True, slots=True)
class ScaleSpec:
    """How a scale's weight becomes a count: (grams - tare_g) / grams_per_unit, rounded."""

    grams_per_unit: float
    tare_g: float = 0.0

    def __post_init__(self) -> None:
        if not self.grams_per_unit > 0:
            raise ValueError("grams_per_unit must be more than 0")

    def count(self, grams: float) -> float:
        return float(max(0, round((grams - self.tare_g) / self.grams_per_unit)))


@dataclass(frozen=True, slots=True)
class Accepted:
    reading: Reading
    ts_from_payload: bool


@dataclass(frozen=True, slots=True)
class UnknownSource:
    """A topic that names no known equipment or supply; recorded, not dropped."""

    subject: str
    detail: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """Not for us to read, e.g. the alerts we publish ourselves."""

    why: str


Outcome = Accepted | Rejected | UnknownSource | Ignored


def _members(known: Known) -> Collection[str]:
    return known() if callable(known) else known


@dataclass(frozen=True)
class MessageInterpreter:
    router: TopicRouter
    known_equipment: Known
    known_skus: Known = frozenset()
    scales: Mapping[str, ScaleSpec] | None = None
    max_payload_bytes: int = 65536
    max_future: timedelta = timedelta(minutes=5)

    def interpret(self, topic: str, payload: bytes, received_at: datetime) -> Outcome:
        matched = self.router.match(topic)
        if isinstance(matched, TopicError):
            return Rejected(matched.reason, matched.detail)
        return self.interpret_match(matched, topic, payload, received_at)

    def interpret_match(
        self, matched: TopicMatch, topic: str, payload: bytes, received_at: datetime
    ) -> Outcome:
        route = matched.route
        if route.kind == "alert":
            return Ignored("alert topic")
        if route.kind == "watch":
            return Rejected("bad_topic", f"topic {topic[:200]!r} matches no pattern")
        subject = matched.subject
        if route.kind == "reading":
            if subject not in _members(self.known_equipment):
                return UnknownSource(subject, f"no equipment {subject!r}")
        elif subject not in _members(self.known_skus):
            return UnknownSource(subject, f"no supply {subject!r}")

        scale: ScaleSpec | None = None
        if route.kind == "weight":
            scale = (self.scales or {}).get(subject)
            if scale is None:
                return Rejected(NO_SCALE, f"supply {subject!r} has no grams_per_unit for its scale")

        parsed = parse_payload(
            payload,
            received_at=received_at,
            json_path=route.json_path,
            ts_path=route.ts_path,
            max_bytes=self.max_payload_bytes,
            max_future=self.max_future,
        )
        if isinstance(parsed, Rejected):
            return parsed
        return _to_reading(matched, topic, parsed, scale)


def _to_reading(matched: TopicMatch, topic: str, parsed: ParsedValue, scale: ScaleSpec | None) -> Outcome:
    route = matched.route
    value = parsed.value
    unit = route.unit
    if route.kind in ("count", "weight"):
        if not isinstance(value, float):
            return Rejected(WRONG_TYPE, f"a {route.kind} must be a number, got state {value!r}")
        if scale is not None:
            value = scale.count(value)
        elif value < 0:
            return Rejected(NEGATIVE_COUNT, f"count {value} is negative")
        unit = unit or "units"
    try:
        reading = make_reading(
            subject=matched.subject,
            metric=matched.metric,
            value=value,
            ts=parsed.ts,
            unit=unit,
            source=f"mqtt:{topic}",
            subject_kind="equipment" if route.kind == "reading" else "supply",
        )
    except InvalidReading as exc:
        return Rejected(INVALID, str(exc))
    return Accepted(reading, parsed.ts_from_payload)
