"""Rules and the subjects they apply to, as plain immutable values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from fnmatch import fnmatchcase

from rules.severity import Severity

INF = math.inf


class ConditionKind(StrEnum):
    THRESHOLD = "threshold"  # above, below or outside a range, with a clearing band
    EQUALS = "equals"  # the value is one of some states, e.g. "jammed", "on_battery"
    RATE = "rate"  # change per minute over a window
    ABSENT = "absent"  # no reading for a duration


@dataclass(frozen=True, slots=True)
class Subject:
    """What a rule can match on and what messages name: a piece of equipment or a supply item."""

    id: str
    name: str = ""
    kind: str = "other"  # printer, ups, fridge, freezer, sensor, shelf, supply, other
    location: str = ""
    team: str = ""
    tags: frozenset[str] = frozenset()
    subject_kind: str = "equipment"  # or "supply"

    @property
    def display_name(self) -> str:
        return self.name or self.id


@dataclass(frozen=True, slots=True)
class Match:
    """Which subjects a rule applies to. Empty sets mean "any"."""

    kinds: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    subject_kind: str = "equipment"

    def matches(self, subject: Subject) -> bool:
        if subject.subject_kind != self.subject_kind:
            return False
        if self.ids and subject.id not in self.ids:
            return False
        if self.kinds and subject.kind not in self.kinds:
            return False
        return not (self.tags and not (self.tags <= subject.tags))


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule. Numeric thresholds are normalised to a firing band and a clearing band.

    A THRESHOLD rule fires when value < fire_low (<= when low_inclusive) or value > fire_high
    (>= when high_inclusive), and clears only when clear_low <= value <= clear_high. Between the
    two it keeps its state (hysteresis). Optional critical_low/critical_high raise severity.
    """

    id: str
    metric: str
    kind: ConditionKind
    severity: Severity = Severity.WARNING
    hold: timedelta = timedelta(0)
    team: str = ""
    message: str = ""
    match: Match = field(default_factory=Match)
    fire_low: float = -INF
    fire_high: float = INF
    low_inclusive: bool = False
    high_inclusive: bool = False
    clear_low: float = -INF
    clear_high: float = INF
    critical_low: float = -INF
    critical_high: float = INF
    states: frozenset[str] = frozenset()
    rate_per_minute_above: float = INF
    rate_per_minute_below: float = -INF
    window: timedelta = timedelta(minutes=10)
    absent_after: timedelta = timedelta(0)
    description: str = ""
    # Rules (ids, on the same subject) whose alert this one replaces while it is open: "toner low
    # and no cartridge" says all that "toner low" says, so the coordinator sees one alert.
    supersedes: frozenset[str] = frozenset()
    # Actions ("ack", "resolve") refused without a comment: an inspector asks who did what.
    require_comment: frozenset[str] = frozenset()

    @property
    def metric_is_pattern(self) -> bool:
        return any(ch in self.metric for ch in "*?[")

    def matches_metric(self, metric: str) -> bool:
        return fnmatchcase(metric, self.metric) if self.metric_is_pattern else metric == self.metric

    def fires(self, value: float) -> bool:
        if self.low_inclusive:
            if value <= self.fire_low:
                return True
        elif value < self.fire_low:
            return True
        if self.high_inclusive:
            return value >= self.fire_high
        return value > self.fire_high

    def clears(self, value: float) -> bool:
        return self.clear_low <= value <= self.clear_high and not self.fires(value)

    def is_critical(self, value: float) -> bool:
        return value < self.critical_low or value > self.critical_high

    def badness(self, value: float) -> float:
        """How far a value is past the firing band: used to keep the worst value."""
        if self.kind is ConditionKind.RATE:
            return abs(value)
        below = self.fire_low - value if self.fire_low > -INF else -INF
        above = value - self.fire_high if self.fire_high < INF else -INF
        return max(below, above)


def validate_rule(rule: Rule) -> list[str]:
    """Problems a person must fix, in plain words. Empty when the rule is sound."""
    problems: list[str] = []
    if rule.kind is ConditionKind.THRESHOLD:
        if rule.fire_low == -INF and rule.fire_high == INF:
            problems.append("has no threshold: give 'above', 'below' or 'outside'")
        if rule.fire_low > -INF and rule.clear_low < rule.fire_low:
            problems.append(
                f"has its low clearing threshold {rule.clear_low:g} on the wrong side of the firing threshold "
                f"{rule.fire_low:g}: it would clear while still firing; set it at or above {rule.fire_low:g}"
            )
        if rule.fire_high < INF and rule.clear_high > rule.fire_high:
            problems.append(
                f"has its high clearing threshold {rule.clear_high:g} on the wrong side of the firing threshold "
                f"{rule.fire_high:g}: it would clear while still firing; set it at or below {rule.fire_high:g}"
            )
        if rule.fire_low > -INF and rule.fire_high < INF and rule.fire_low >= rule.fire_high:
            problems.append(
                f"range is empty ({rule.fire_low:g} to {rule.fire_high:g}): put the low end first"
            )
        if rule.critical_low > -INF and rule.critical_low > rule.fire_low:
            problems.append("critical low threshold is above the warning one: it must be further out")
        if rule.critical_high < INF and rule.critical_high < rule.fire_high:
            problems.append("critical high threshold is below the warning one: it must be further out")
    elif rule.kind is ConditionKind.EQUALS:
        if not rule.states:
            problems.append("has no states to match: give 'equals: [state, ...]'")
    elif rule.kind is ConditionKind.RATE:
        if rule.rate_per_minute_above == INF and rule.rate_per_minute_below == -INF:
            problems.append("has no rate: give 'rate_above' or 'rate_below' (per minute)")
        if rule.window <= timedelta(0):
            problems.append("window must be longer than zero")
    elif rule.kind is ConditionKind.ABSENT and rule.absent_after <= timedelta(0):
        problems.append("needs 'absent_for' longer than zero")
    if rule.hold < timedelta(0):
        problems.append("'for' can't be negative")
    return problems
