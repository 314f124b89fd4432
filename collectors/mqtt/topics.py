"""Topic patterns: which topics we subscribe to and what a topic says about its reading.

A pattern is MQTT-like: literal segments, `{name}` (one level, captured), `+` (one level)
and a final `#`. `{site}` is replaced by the site id before anything else, so an agent
only hears its own site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from collectors.mqtt.config import METRIC_PATTERN, MqttSettings, ValueKind

RouteKind = Literal["reading", "count", "weight", "alert", "watch"]

_NAMED = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
MAX_METRIC_LEN = 120  # like equipment ids (128), bounded; the width of the readings' metric column
_SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Route:
    """One compiled pattern and what a match on it means."""

    pattern: str
    kind: RouteKind
    # Per segment: a literal, "+" (anonymous), "#" (rest), or "{name}".
    segments: tuple[str, ...]
    equipment: str | None = None
    metric: str | None = None
    sku: str | None = None
    json_path: tuple[str, ...] | None = None
    ts_path: tuple[str, ...] | None = ("ts",)
    unit: str = ""
    # Derived from segments, for a quick match.
    _multi: bool = field(init=False, repr=False, compare=False)
    _length: int = field(init=False, repr=False, compare=False)
    _literals: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)
    _names: tuple[tuple[int, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segs = self.segments
        named = [(i, m.group(1)) for i, seg in enumerate(segs) if (m := _NAMED.fullmatch(seg))]
        literals = [
            (i, seg) for i, seg in enumerate(segs) if seg not in ("+", "#") and not _NAMED.fullmatch(seg)
        ]
        object.__setattr__(self, "_multi", bool(segs) and segs[-1] == "#")
        object.__setattr__(self, "_length", len(segs))
        object.__setattr__(self, "_literals", tuple(literals))
        object.__setattr__(self, "_names", tuple(named))

    @property
    def filter(self) -> str:
        """The MQTT subscription filter for this pattern."""
        return "/".join("+" if _NAMED.fullmatch(seg) else seg for seg in self.segments)

    def capture(self, parts: list[str]) -> dict[str, str] | None:
        """Named segments of a topic split on '/', or None when it does not match."""
        count = len(parts)
        if self._multi:
            if count < self._length - 1:
                return None
        elif count != self._length:
            return None
        for index, literal in self._literals:
            if index >= count or parts[index] != literal:
                return None
        return {name: parts[index] for index, name in self._names}


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """What a topic names: a route and, for readings, the subject and metric."""

    route: Route
    subject: str = ""
    metric: str = ""


@dataclass(frozen=True, slots=True)
class TopicError:
    """A topic we receive but can't use; reason is a stable label."""

    reason: str
    detail: str


def _site(pattern: str, site_id: str) -> str:
    return pattern.replace("{site}", site_id)


def _route(pattern: str, kind: RouteKind, metric: str | None = None) -> Route:
    return Route(pattern=pattern, kind=kind, segments=tuple(pattern.split("/")), metric=metric)


def _dotted(path: str | None) -> tuple[str, ...] | None:
    return None if path is None else tuple(path.split("."))


def check_site_id(site_id: str) -> None:
    if not site_id or any(ch in site_id for ch in "/+#{}") or "\x00" in site_id:
        raise ValueError(f"site id {site_id!r} can't be used in a topic: no '/', '+', '#', braces or empty")


_MATCH_MEMORY = 10_000  # distinct topics remembered; a site has a few hundred


class TopicRouter:
    """Maps received topics to routes, first match wins: custom mappings, then defaults.

    The same few hundred topics arrive again and again, so each one's answer (immutable) is
    remembered: matching was an eighth of the network thread's time at 10,000 messages/s.
    """

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self._memory: dict[str, TopicMatch | TopicError] = {}

    @classmethod
    def from_settings(cls, settings: MqttSettings, site_id: str) -> TopicRouter:
        check_site_id(site_id)
        routes: list[Route] = []
        for mapping in settings.mappings:
            kind: ValueKind = mapping.kind
            pattern = _site(mapping.pattern, site_id)
            routes.append(
                Route(
                    pattern=pattern,
                    kind=kind,
                    segments=tuple(pattern.split("/")),
                    equipment=mapping.equipment,
                    metric=mapping.metric,
                    sku=mapping.sku,
                    json_path=_dotted(mapping.json_path),
                    ts_path=_dotted(mapping.ts_path),
                    unit=mapping.unit,
                )
            )
        topics = settings.topics
        routes.append(_route(_site(topics.readings, site_id), "reading"))
        routes.append(_route(_site(topics.counts, site_id), "count", metric="count"))
        routes.append(_route(_site(topics.weights, site_id), "weight", metric="count"))
        # Our own alert topic: heard because of the watch filter, never a reading.
        routes.append(_route(_site(topics.alerts, site_id).replace("{alert_id}", "+"), "alert"))
        if topics.watch is not None:
            routes.append(_route(_site(topics.watch, site_id), "watch"))
        return cls(routes)

    def subscriptions(self) -> list[str]:
        """Filters to subscribe to, without any filter another one already covers.

        Overlapping subscriptions make a broker deliver one message once per matching
        filter, so covered filters are left out.
        """
        filters: list[str] = []
        for route in self.routes:
            if route.kind == "alert":
                continue
            candidate = route.filter
            if any(filter_covers(existing, candidate) for existing in filters):
                continue
            filters = [f for f in filters if not filter_covers(candidate, f)]
            filters.append(candidate)
        return filters

    def match(self, topic: str) -> TopicMatch | TopicError:
        found = self._memory.get(topic)
        if found is None:
            found = self._match(topic)
            if len(self._memory) >= _MATCH_MEMORY:
                self._memory = {}  # a flood of distinct (likely bad) topics: start again
            self._memory[topic] = found
        return found

    def _match(self, topic: str) -> TopicMatch | TopicError:
        parts = topic.split("/")
        for route in self.routes:
            named = route.capture(parts)
            if named is None:
                continue
            if route.kind in ("alert", "watch"):
                return TopicMatch(route=route)
            return _resolve(route, named, topic)
        return TopicError("bad_topic", f"topic {topic[:200]!r} matches no pattern")


def _resolve(route: Route, named: dict[str, str], topic: str) -> TopicMatch | TopicError:
    if route.kind == "reading":
        subject = route.equipment if route.equipment is not None else named.get("equipment", "")
        metric = route.metric if route.metric is not None else named.get("metric", "")
        if len(metric) > MAX_METRIC_LEN:
            return TopicError(
                "bad_topic", f"metric of {len(metric)} characters in {topic[:200]!r} (at most {MAX_METRIC_LEN})"
            )
        if not METRIC_PATTERN.match(metric):
            return TopicError(
                "bad_topic", f"metric {metric[:80]!r} in {topic[:200]!r} is not dotted lowercase"
            )
    else:
        subject = route.sku if route.sku is not None else named.get("sku", "")
        metric = "count"
    if not _SUBJECT.match(subject):
        return TopicError("bad_topic", f"subject {subject[:80]!r} in {topic[:200]!r} is not an id")
    return TopicMatch(route=route, subject=subject, metric=metric)


def filter_covers(general: str, specific: str) -> bool:
    """True when every topic matched by `specific` is also matched by `general`."""
    g = general.split("/")
    s = specific.split("/")
    for index, gseg in enumerate(g):
        if gseg == "#":
            return True
        if index >= len(s):
            return False
        sseg = s[index]
        if sseg == "#":
            return False
        if gseg == "+":
            continue
        if sseg == "+" or gseg != sseg:
            return False
    return len(g) == len(s)
