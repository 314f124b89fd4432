"""Cold-chain excursions (issue 14): consecutive and cumulative alerts, records, late backlogs.

The clock is injected: readings carry their own timestamps and the engine only sees those.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from rules.alerts import TransitionKind
from rules.cold_chain import (
    ColdChainSpec,
    ColdChainWatch,
    ExcursionTracker,
    Side,
    engine_rules,
    find_excursions,
    mean_kinetic_temperature,
    range_summary,
    time_out_of_range,
    validate_spec,
)
from rules.engine import Engine
from rules.model import ConditionKind, Match, Rule, Subject
from rules.reading import Reading
from rules.severity import Severity
from tests.support.clock import FakeClock

FRIDGE = Subject(id="fridge-1", name="Vaccine fridge", kind="fridge", location="Pharmacy", team="pharmacy")
SPEC = ColdChainSpec(
    rule_id="vaccine-fridge",
    metric="temperature_c",
    match=Match(kinds=frozenset({"fridge"})),
    hot_above=8.0,
    cold_below=2.0,
    consecutive=timedelta(minutes=30),
    cumulative_limit=timedelta(minutes=60),
    cumulative_window=timedelta(hours=24),
)
TEMPLATE = Rule(id="vaccine-fridge", metric="temperature_c", kind=ConditionKind.THRESHOLD, severity=Severity.CRITICAL)


class Fridge:
    """A watch and an engine fed one reading a minute, on an injected clock."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.t0 = self.clock.now()
        self.watch = ColdChainWatch([SPEC], {FRIDGE.id: FRIDGE})
        self.engine = Engine(engine_rules(SPEC, TEMPLATE), {FRIDGE.id: FRIDGE})
        self.opened: list[tuple[str, timedelta]] = []
        self.records: dict = {}

    def reading(self, minute: float, value: float) -> Reading:
        return Reading(FRIDGE.id, "temperature_c", value, self.t0 + timedelta(minutes=minute), unit="°C")

    def feed(self, reading: Reading) -> None:
        self.clock.set(max(self.clock.now(), reading.ts))
        result = self.watch.observe(reading)
        for rec in result.changed:
            self.records[rec.start] = rec
        for _, _, start in result.removed:
            self.records.pop(start, None)
        for t in self.engine.evaluate_many([*result.derived, reading]):
            if t.kind is TransitionKind.OPENED:
                self.opened.append((t.alert.rule_id, t.at - self.t0))
        for t in self.engine.tick(self.clock.now()):
            if t.kind is TransitionKind.OPENED:
                self.opened.append((t.alert.rule_id, t.at - self.t0))

    def minutes(self, start: float, end: float, value: float) -> None:
        m = start
        while m < end:
            self.feed(self.reading(m, value))
            m += 1


def test_three_25_minute_excursions_open_the_cumulative_alert_at_the_third_and_never_the_consecutive() -> None:
    f = Fridge()
    f.minutes(0, 60, 5.0)
    for start in (60, 300, 600):  # three excursions of 25 minutes within 24 hours
        f.minutes(start, start + 25, 9.0)
        f.minutes(start + 25, start + 240, 5.0)
        if start < 600:
            assert f.opened == []
    assert [rule for rule, _ in f.opened] == ["vaccine-fridge.cumulative"]
    # 25 + 25 minutes before; the 60th minute out of range is the 10th of the third excursion.
    assert f.opened[0][1] == timedelta(minutes=610)
    recs = sorted(f.records.values(), key=lambda r: r.start)
    assert [r.duration for r in recs] == [timedelta(minutes=25)] * 3
    assert all(r.side is Side.HOT and r.extreme == 9.0 and r.end is not None for r in recs)


def test_one_35_minute_excursion_opens_the_consecutive_alert() -> None:
    f = Fridge()
    f.minutes(0, 30, 5.0)
    f.minutes(30, 65, 8.6)
    f.minutes(65, 90, 5.0)
    assert ("vaccine-fridge", timedelta(minutes=60)) in f.opened
    rec = next(iter(f.records.values()))
    assert rec.duration == timedelta(minutes=35) and rec.extreme == 8.6


def test_excursions_that_age_out_of_the_window_stop_counting() -> None:
    f = Fridge()
    f.minutes(0, 10, 5.0)
    f.minutes(10, 35, 9.0)  # 25 min
    f.minutes(35, 60, 5.0)
    f.minutes(60, 85, 9.0)  # 25 min: 50 in the window
    for m in range(85, 24 * 60 + 21, 5):  # a quiet day, a reading every five minutes
        f.feed(f.reading(m, 5.0))
    # Nearly a day later: the first one has aged out when the third happens.
    f.minutes(24 * 60 + 21, 24 * 60 + 46, 9.0)  # 25 min; the window holds 25 (2nd) + 25 (3rd) at most
    f.minutes(24 * 60 + 46, 24 * 60 + 60, 5.0)
    assert f.opened == []
    samples = [(r.ts, float(r.value)) for r in (f.reading(m, 9.0 if 10 <= m < 35 else 5.0) for m in range(0, 40))]
    assert time_out_of_range(samples, SPEC, samples[-1][0], timedelta(hours=24)) == timedelta(minutes=25)
    assert time_out_of_range(samples, SPEC, samples[-1][0] + timedelta(hours=24), timedelta(hours=24)) == timedelta(0)


def _day_of_readings(f: Fridge) -> list[Reading]:
    rng = random.Random(14)
    out = []
    for m in range(0, 6 * 60):
        value = 5.0 + rng.uniform(-1, 1)
        if 40 <= m < 75 or 200 <= m < 212:
            value = 8.5 + rng.uniform(0, 2)
        if 300 <= m < 310:
            value = 1.2
        out.append(f.reading(m, round(value, 2)))
    return out


def test_same_records_in_order_and_as_a_late_backlog() -> None:
    live = Fridge()
    readings = _day_of_readings(live)
    for r in readings:
        live.feed(r)
    # A sensor offline during minutes 150-330 (broker outage) publishes its buffer on reconnecting:
    # the live readings after the outage arrive first, the backlog later with its own timestamps.
    late = Fridge()
    before = [r for r in readings if r.ts < late.t0 + timedelta(minutes=150)]
    backlog = [r for r in readings if late.t0 + timedelta(minutes=150) <= r.ts < late.t0 + timedelta(minutes=330)]
    after = [r for r in readings if r.ts >= late.t0 + timedelta(minutes=330)]
    for r in before + after + backlog:
        late.feed(r)
    shuffled = Fridge()
    mixed = list(readings)
    random.Random(3).shuffle(mixed[100:])
    for r in mixed:
        shuffled.feed(r)
    expected = find_excursions([(r.ts, float(r.value)) for r in readings], SPEC, FRIDGE.id)
    assert [e.side for e in expected] == [Side.HOT, Side.HOT, Side.COLD]
    for f in (live, late, shuffled):
        assert sorted(f.records.values(), key=lambda e: e.start) == expected


def test_gap_rule_unknown_after_in_range_out_after_out_of_range() -> None:
    f = Fridge()
    samples = [(f.t0, 5.0), (f.t0 + timedelta(minutes=5), 5.0), (f.t0 + timedelta(hours=2), 9.0),
               (f.t0 + timedelta(hours=5), 9.5), (f.t0 + timedelta(hours=5, minutes=5), 5.0)]
    summary = range_summary(samples, SPEC, silent_after=timedelta(minutes=15))
    assert summary.in_range == timedelta(minutes=5)
    assert summary.unknown == timedelta(hours=1, minutes=55)
    assert summary.out_of_range == timedelta(hours=3, minutes=5)
    (exc,) = find_excursions(samples, SPEC, FRIDGE.id)
    assert exc.duration == timedelta(hours=3, minutes=5) and exc.extreme == 9.5


def test_tracker_keeps_an_old_excursion_start_when_trimming() -> None:
    spec = ColdChainSpec("r", "temperature_c", hot_above=8.0, cumulative_limit=timedelta(minutes=10),
                         cumulative_window=timedelta(hours=1))
    t = ExcursionTracker(spec, "fridge-1")
    clock = FakeClock()
    t0 = clock.now()
    for m in range(0, 200):
        t.add(t0 + timedelta(minutes=m), 12.0 if m == 3 else 9.0)
    rec = t._reported[t0]
    assert rec.start == t0 and rec.extreme == 12.0 and rec.end is None
    update = t.add(t0 + timedelta(minutes=200), 5.0)
    assert update.changed[0].duration == timedelta(minutes=200) and update.changed[0].extreme == 12.0


def test_mkt_matches_a_constant_and_is_above_the_arithmetic_mean() -> None:
    assert math.isclose(mean_kinetic_temperature([5.0] * 10) or 0, 5.0, abs_tol=1e-9)
    values = [2.0, 8.0, 4.0, 12.0]
    assert (mean_kinetic_temperature(values) or 0) > sum(values) / len(values)


def test_validation_names_the_fix() -> None:
    assert validate_spec(SPEC) == []
    bad = ColdChainSpec("r", "temperature_c")
    assert any("hot_above" in fix for _, fix in validate_spec(bad))
    assert any("consecutive" in fix for _, fix in validate_spec(bad))
