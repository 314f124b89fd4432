"""Cold-chain excursions as inspectors count them: pure, clock-free, order-independent.

Time is counted between readings from the readings' own timestamps (never the arrival
time), so a backlog replayed after a broker outage gives the same records as live data.

The gap rule. Each reading stands for the time until the next reading of the same metric:
  * after an out-of-range reading, the time until the next reading counts as out of range,
    however long the gap (an excursion ends only when a reading shows the unit back in range);
  * after an in-range reading, the time counts as in range only when the next reading comes
    within the sensor's ``silent_after``; a longer gap is "unknown": not in range, not out.
    The unit's offline alert covers the silence.

An excursion is a run of readings on the same side (hot: above ``hot_above``; cold: below
``cold_below``). It starts at the first such reading and ends at the first reading back in
range; its extreme is the peak (hot) or trough (cold). Every excursion is recorded, whether
or not an alert opens.

Two alert conditions are built from one cold-chain rule (see ``engine_rules``):
  * consecutive: out of range continuously for ``consecutive`` (a threshold rule with a hold);
  * cumulative: the time out of range within the rolling ``window`` reaches ``limit``. The
    tracker turns it into a derived reading (minutes out of range in the window, metric
    ``cold_chain.<rule id>.min``) that a plain threshold rule watches.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from rules.model import INF, ConditionKind, Match, Rule, Subject
from rules.reading import Reading

DEFAULT_SILENT_AFTER = timedelta(minutes=15)
MKT_DELTA_H_OVER_R = 10_000.0  # kelvin: ΔH/R as USP <1079> uses it for MKT
Sample = tuple[datetime, float]


class Side(StrEnum):
    HOT = "hot"
    COLD = "cold"


@dataclass(frozen=True, slots=True)
class ColdChainSpec:
    rule_id: str
    metric: str
    match: Match = field(default_factory=Match)
    hot_above: float = INF
    cold_below: float = -INF
    consecutive: timedelta | None = None
    cumulative_limit: timedelta | None = None
    cumulative_window: timedelta = timedelta(hours=24)

    def side(self, value: float) -> Side | None:
        if value > self.hot_above:
            return Side.HOT
        if value < self.cold_below:
            return Side.COLD
        return None

    @property
    def cumulative_metric(self) -> str:
        return f"cold_chain.{self.rule_id}.min"

    @property
    def cumulative_rule_id(self) -> str:
        return f"{self.rule_id}.cumulative"


def validate_spec(spec: ColdChainSpec) -> list[tuple[str, str]]:
    """(problem, fix) pairs in plain words; empty when the rule is sound."""
    problems: list[tuple[str, str]] = []
    if spec.hot_above == INF and spec.cold_below == -INF:
        problems.append(("has no limit", "give 'hot_above', 'cold_below' or both, e.g. hot_above: 8"))
    if spec.hot_above < INF and spec.cold_below > -INF and spec.cold_below >= spec.hot_above:
        problems.append(
            (f"has cold_below {spec.cold_below:g} at or above hot_above {spec.hot_above:g}",
             "put cold_below under hot_above, e.g. cold_below: 2, hot_above: 8")
        )
    if spec.consecutive is None and spec.cumulative_limit is None:
        problems.append(
            ("alerts on nothing", "give 'consecutive' (e.g. 30m) and/or 'cumulative: {limit: 60m, window: 24h}'")
        )
    if spec.consecutive is not None and spec.consecutive <= timedelta(0):
        problems.append(("has 'consecutive' of zero", "give a duration such as 30m"))
    if spec.cumulative_limit is not None:
        if spec.cumulative_limit <= timedelta(0):
            problems.append(("has 'cumulative.limit' of zero", "give a duration such as 60m"))
        if spec.cumulative_window <= spec.cumulative_limit:
            problems.append(
                ("has a 'cumulative.window' no longer than its limit", "make the window longer, e.g. window: 24h")
            )
    return problems


@dataclass(frozen=True, slots=True)
class Excursion:
    rule_id: str
    subject: str
    metric: str
    side: Side
    start: datetime
    end: datetime | None  # the first reading back in range; None while it lasts
    extreme: float  # peak (hot) or trough (cold)
    last_at: datetime  # the last out-of-range reading

    @property
    def duration(self) -> timedelta:
        return (self.end or self.last_at) - self.start


def find_excursions(samples: Sequence[Sample], spec: ColdChainSpec, subject: str) -> list[Excursion]:
    """Every excursion in time-ordered samples."""
    out: list[Excursion] = []
    current: Excursion | None = None
    for ts, value in samples:
        side = spec.side(value)
        if current is not None and side is current.side:
            better = value > current.extreme if side is Side.HOT else value < current.extreme
            current = replace(current, last_at=ts, extreme=value if better else current.extreme)
            continue
        if current is not None:
            out.append(replace(current, end=ts))
            current = None
        if side is not None:
            current = Excursion(spec.rule_id, subject, spec.metric, side, ts, None, value, ts)
    if current is not None:
        out.append(current)
    return out


def time_out_of_range(samples: Sequence[Sample], spec: ColdChainSpec, end: datetime, window: timedelta) -> timedelta:
    """Time out of range within (end - window, end], by the gap rule. Samples in time order."""
    start = end - window
    total = timedelta(0)
    for (ts, value), (next_ts, _) in zip(samples, samples[1:], strict=False):
        if next_ts <= start or ts >= end:
            continue
        if spec.side(value) is not None:
            total += min(next_ts, end) - max(ts, start)
    return total


@dataclass(frozen=True, slots=True)
class RangeSummary:
    in_range: timedelta
    out_of_range: timedelta
    unknown: timedelta

    @property
    def percent_in_range(self) -> float | None:
        """Share of the known time that was in range."""
        known = self.in_range + self.out_of_range
        return None if known <= timedelta(0) else 100.0 * (self.in_range / known)


def range_summary(
    samples: Sequence[Sample], spec: ColdChainSpec, silent_after: timedelta = DEFAULT_SILENT_AFTER
) -> RangeSummary:
    """In range, out of range and unknown time between the first and last sample (gap rule)."""
    inside = outside = unknown = timedelta(0)
    for (ts, value), (next_ts, _) in zip(samples, samples[1:], strict=False):
        gap = next_ts - ts
        if spec.side(value) is not None:
            outside += gap
        elif gap <= silent_after:
            inside += gap
        else:
            unknown += gap
    return RangeSummary(inside, outside, unknown)


def mean_kinetic_temperature(values_c: Sequence[float], delta_h_over_r: float = MKT_DELTA_H_OVER_R) -> float | None:
    """USP <1079> MKT in °C over equally spaced readings: ΔH/R ÷ −ln(mean(e^(−ΔH/(R·T))))."""
    if not values_c:
        return None
    mean = math.fsum(math.exp(-delta_h_over_r / (v + 273.15)) for v in values_c) / len(values_c)
    return delta_h_over_r / -math.log(mean) - 273.15


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    changed: tuple[Excursion, ...] = ()  # new or different records
    removed: tuple[datetime, ...] = ()  # starts of records a late reading proved wrong
    time_out: timedelta | None = None  # within the cumulative window ending at the newest reading
    newest: datetime | None = None


class ExcursionTracker:
    """One (cold-chain rule, subject): a time-ordered buffer of recent samples.

    Readings may arrive in any order; the records it reports depend only on the samples.
    Samples older than the cumulative window (and not part of an excursion still being
    reported) are dropped; a reading older than the whole buffer is ignored here (it is
    still stored as history) and reported as too late.
    """

    def __init__(self, spec: ColdChainSpec, subject: str, keep: timedelta | None = None) -> None:
        self.spec = spec
        self.subject = subject
        self.keep = max(keep or timedelta(0), spec.cumulative_window, timedelta(hours=1))
        self._ts: list[datetime] = []
        self._values: list[float] = []
        self._reported: dict[datetime, Excursion] = {}
        self._last_total: timedelta | None = timedelta(0) if spec.cumulative_limit is not None else None
        self.too_late = 0

    def seed(self, samples: Sequence[Sample], records: Sequence[Excursion] = ()) -> None:
        """Restore after a restart: recent samples from history and the records already stored."""
        for ts, value in sorted(samples):
            self._insert(ts, value)
        self._reported = {r.start: r for r in records}

    def add(self, ts: datetime, value: float) -> TrackerUpdate:
        if self._ts and ts < self._ts[0]:
            self.too_late += 1
            return TrackerUpdate()
        appended = not self._ts or ts > self._ts[-1]
        self._insert(ts, value)
        self._trim()
        if appended and not self._reported and self.spec.side(value) is None:
            # Nothing out of range in the buffer: an in-range reading appended changes nothing.
            return self._time_out(timedelta(0) if self.spec.cumulative_limit is not None else None)
        return self._diff()

    def _time_out(self, total: timedelta | None) -> TrackerUpdate:
        return TrackerUpdate(time_out=self._changed_total(total), newest=self._ts[-1])

    def _changed_total(self, total: timedelta | None) -> timedelta | None:
        """Report the cumulative total only when it moved, so a quiet fridge adds no readings."""
        if total is None or total == self._last_total:
            return None
        self._last_total = total
        return total

    def _insert(self, ts: datetime, value: float) -> None:
        at = bisect_left(self._ts, ts)
        if at < len(self._ts) and self._ts[at] == ts:
            self._values[at] = value  # the same observation again
            return
        self._ts.insert(at, ts)
        self._values.insert(at, value)

    def _trim(self) -> None:
        cutoff = self._ts[-1] - self.keep
        side = self.spec.side
        while len(self._ts) > 2 and self._ts[1] < cutoff:
            s0, s1 = side(self._values[0]), side(self._values[1])
            if s0 is not None and s0 is s1:
                # Keep the excursion's start and its extreme: fold the second sample into the first.
                pick = max if s0 is Side.HOT else min
                self._values[1] = pick(self._values[0], self._values[1])
                self._ts[1] = self._ts[0]
            del self._ts[0]
            del self._values[0]
        first = self._ts[0]
        for start in [s for s, r in self._reported.items() if r.end is not None and r.end < first]:
            del self._reported[start]  # final: no sample of it is left to change it

    def _diff(self) -> TrackerUpdate:
        samples = list(zip(self._ts, self._values, strict=True))
        found = {e.start: e for e in find_excursions(samples, self.spec, self.subject)}
        first = self._ts[0]
        changed = tuple(e for s, e in found.items() if self._reported.get(s) != e)
        removed = tuple(s for s in self._reported if s not in found and s >= first)
        for s in removed:
            del self._reported[s]
        self._reported.update((e.start, e) for e in changed)
        time_out = None
        if self.spec.cumulative_limit is not None:
            time_out = time_out_of_range(samples, self.spec, self._ts[-1], self.spec.cumulative_window)
        return TrackerUpdate(changed, removed, self._changed_total(time_out), self._ts[-1])


@dataclass(frozen=True, slots=True)
class WatchResult:
    changed: tuple[Excursion, ...] = ()
    removed: tuple[tuple[str, str, datetime], ...] = ()  # (rule id, subject, start)
    derived: tuple[Reading, ...] = ()


class ColdChainWatch:
    """All cold-chain rules over all subjects: readings in, excursion records and derived readings out."""

    def __init__(self, specs: Sequence[ColdChainSpec], subjects: Mapping[str, Subject]) -> None:
        self.specs = list(specs)
        self.subjects = dict(subjects)
        self.trackers: dict[tuple[str, str], ExcursionTracker] = {}
        self._by_metric: dict[str, list[ColdChainSpec]] = {}
        for spec in self.specs:
            self._by_metric.setdefault(spec.metric, []).append(spec)

    def specs_for(self, reading: Reading) -> list[ColdChainSpec]:
        specs = self._by_metric.get(reading.metric)
        if not specs or type(reading.value) is not float:
            return []
        subject = self.subjects.get(reading.subject) or Subject(id=reading.subject, subject_kind=reading.subject_kind)
        return [s for s in specs if s.match.matches(subject)]

    def tracker(self, spec: ColdChainSpec, subject: str) -> ExcursionTracker | None:
        return self.trackers.get((spec.rule_id, subject))

    def add_tracker(self, tracker: ExcursionTracker) -> None:
        self.trackers[(tracker.spec.rule_id, tracker.subject)] = tracker

    def observe(self, reading: Reading) -> WatchResult:
        changed: list[Excursion] = []
        removed: list[tuple[str, str, datetime]] = []
        derived: list[Reading] = []
        value = reading.value
        if type(value) is not float:
            return WatchResult()
        for spec in self.specs_for(reading):
            tracker = self.trackers.get((spec.rule_id, reading.subject))
            if tracker is None:
                tracker = ExcursionTracker(spec, reading.subject)
                self.add_tracker(tracker)
            update = tracker.add(reading.ts, value)
            changed.extend(update.changed)
            removed.extend((spec.rule_id, reading.subject, s) for s in update.removed)
            if update.time_out is not None and update.newest is not None:
                derived.append(
                    Reading(
                        subject=reading.subject,
                        metric=spec.cumulative_metric,
                        value=round(update.time_out.total_seconds() / 60.0, 2),
                        ts=update.newest,
                        unit="min",
                        source="cold-chain",
                        subject_kind=reading.subject_kind,
                    )
                )
        return WatchResult(tuple(changed), tuple(removed), tuple(derived))


def engine_rules(spec: ColdChainSpec, template: Rule) -> list[Rule]:
    """The engine rules one cold-chain rule stands for. `template` carries severity, team,
    message, description and require_comment."""
    out: list[Rule] = []
    if spec.consecutive is not None:
        out.append(
            replace(
                template,
                id=spec.rule_id,
                metric=spec.metric,
                kind=ConditionKind.THRESHOLD,
                match=spec.match,
                hold=spec.consecutive,
                fire_low=spec.cold_below,
                fire_high=spec.hot_above,
                clear_low=spec.cold_below,
                clear_high=spec.hot_above,
            )
        )
    if spec.cumulative_limit is not None:
        limit = spec.cumulative_limit.total_seconds() / 60.0
        hours = spec.cumulative_window.total_seconds() / 3600.0
        message = template.message or (
            "{name} was out of its safe range for {value} in the last " + f"{hours:g} hours (limit {limit:g} min)"
        )
        out.append(
            replace(
                template,
                id=spec.cumulative_rule_id,
                metric=spec.cumulative_metric,
                kind=ConditionKind.THRESHOLD,
                match=spec.match,
                hold=timedelta(0),
                fire_low=-INF,
                low_inclusive=False,
                clear_low=-INF,
                fire_high=limit,
                high_inclusive=True,
                clear_high=limit,
                critical_low=-INF,
                critical_high=INF,
                message=message,
            )
        )
    return out
