"""Stock and rule advice: worked examples and properties (Hypothesis)."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.band_advice import Band, flaps, replay, suggest_clearing, suggest_hold
from rules.stock_advice import KEEP, LOWER, MIN_DAYS, RAISE, stock_advice

T0 = datetime(2026, 1, 5, tzinfo=UTC)
use = st.lists(st.floats(min_value=0, max_value=500, allow_nan=False), min_size=0, max_size=60)
lead = st.floats(min_value=0, max_value=30, allow_nan=False)


def advice(totals: list[float], **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = dict(sku="GLV", name="Gloves", unit="box", daily_totals=totals, lead_time_days=4,
                                   reorder_point=10, par=30, lowest_on_hand=0, stayed_above_par=False)
    args.update(kw)
    return stock_advice(**args)  # type: ignore[arg-type]


def test_raise_after_running_out_shows_the_formula() -> None:
    totals = [4.0, 8.0] * 10
    a = advice(totals)
    f = a.figures
    assert a.direction == RAISE and f is not None
    mean, sigma = statistics.fmean(totals), statistics.pstdev(totals)
    assert (mean, sigma) == (6.0, 2.0)
    assert f.safety_stock == pytest.approx(1.6448536 * 2.0 * 2.0)
    assert f.reorder_point == math.ceil(6.0 * 4 + 1.6448536269514722 * 2 * 2) == 31
    assert f.par == math.ceil(31 + 6.0 * 7) == 73
    assert a.reason == "it ran out: raise the reorder point 10 → 31 and raise PAR 30 → 73"
    text = f.arithmetic("box")
    assert "6.00 boxes over 20 days, σ 2.00" in text and "1.645 × 2.00 × √4 = 6.58" in text


def test_lower_when_it_sat_above_par_all_week() -> None:
    a = advice([2.0] * 20, reorder_point=40, par=120, lowest_on_hand=130, stayed_above_par=True)
    assert a.direction == LOWER and a.figures is not None
    assert (a.figures.reorder_point, a.figures.par) == (8, 22)
    assert a.reason == ("it stayed above PAR all week: lower the reorder point 40 → 8 and lower PAR 120 → 22, "
                        "98 boxes less on the shelf")


def test_too_few_days_says_why() -> None:
    a = advice([5.0] * 13)
    assert a.direction == KEEP and a.figures is None and "only 13 days" in a.reason


@given(totals=use, lead_time=lead, rop=st.floats(0, 1000), out=st.booleans(), above=st.booleans())
def test_never_below_lead_time_demand_and_no_advice_under_14_days(
    totals: list[float], lead_time: float, rop: float, out: bool, above: bool
) -> None:
    a = advice(totals, lead_time_days=lead_time, reorder_point=rop, par=rop + 10,
               lowest_on_hand=0 if out else rop + 50, stayed_above_par=above)
    if len(totals) < MIN_DAYS:
        assert a.direction == KEEP and not a.applicable
        return
    assert a.figures is not None
    lead_demand = statistics.fmean(totals) * lead_time
    if a.reorder_point < rop:  # a suggestion that lowers it never goes below the lead-time demand
        assert a.reorder_point >= lead_demand - 1e-9
    assert a.figures.reorder_point >= lead_demand - 1e-9
    assert a.reorder_point <= a.par
    if a.direction == RAISE:
        assert a.reorder_point >= rop and a.par >= rop + 10
    if a.direction == LOWER:
        assert a.reorder_point <= rop and a.par <= rop + 10


# ---------------------------------------------------------------------- bands

FRIDGE = Band(fire_high=8.0, clear_high=7.5)


def series(values: list[float], step_min: float = 5) -> list[tuple[datetime, float]]:
    return [(T0 + timedelta(minutes=step_min * i), v) for i, v in enumerate(values)]


def test_replay_follows_hysteresis_and_hold() -> None:
    readings = series([5, 8.5, 7.8, 8.2, 7.4, 8.1, 7.0])
    assert len(replay(readings, FRIDGE)) == 2
    held = replay(readings, Band(fire_high=8.0, clear_high=7.5, hold=timedelta(minutes=12)))
    assert [e.opened for e in held] == [T0 + timedelta(minutes=17)]


def test_clearing_threshold_removes_most_flaps() -> None:
    # Hovering around 7.4-8.3 for a while (flaps), then a genuine excursion.
    readings = series([5, 8.3, 7.4, 8.2, 7.3, 8.4, 7.4, 8.1, 6.0, 5.0, 9.5, 9.8, 6.0])
    change = suggest_clearing(readings, FRIDGE)
    assert change is not None and change.kind == "clear"
    # 5 alerts, 4 of them flaps; 7.3 would remove 2 (not most), 6.0 removes 3 and keeps the excursion.
    assert flaps(replay(readings, FRIDGE)) == 4
    assert (change.alerts_before, change.threshold, change.alerts_after) == (5, 6.0, 2)
    assert len(replay(readings, Band(fire_high=8.0, clear_high=7.3))) == 3
    assert change.delayed == 0 and change.delay == timedelta(minutes=30)  # the first flap clears at 6.0, 30 min later


def test_hold_time_removes_short_flaps_and_delays_the_rest() -> None:
    readings = series([5, 8.3, 7.0, 8.2, 7.0, 8.4, 7.0, 9.0, 9.2, 9.4, 9.1, 7.0], step_min=1)
    change = suggest_hold(readings, FRIDGE)
    assert change is not None and change.hold == timedelta(minutes=2)
    assert (change.alerts_before, change.alerts_after) == (4, 1)
    assert change.delayed == 1 and change.delay == timedelta(minutes=2)


values = st.lists(st.floats(min_value=0, max_value=15, allow_nan=False), min_size=1, max_size=80)


@settings(max_examples=300)
@given(vals=values, gaps=st.lists(st.integers(1, 30), min_size=80, max_size=80))
def test_applying_every_suggested_band_never_produces_more_alerts(vals: list[float], gaps: list[int]) -> None:
    t = T0
    readings = []
    for v, g in zip(vals, gaps, strict=False):
        t += timedelta(minutes=g)
        readings.append((t, v))
    before = len(replay(readings, FRIDGE))
    clear, hold = suggest_clearing(readings, FRIDGE), suggest_hold(readings, FRIDGE)
    for change in (clear, hold):
        if change is not None:
            assert change.alerts_after <= before
            assert len(replay(readings, change.band)) == change.alerts_after
    if clear is not None and hold is not None:
        both = Band(fire_high=8.0, clear_high=clear.band.clear_high, hold=hold.band.hold)
        assert len(replay(readings, both)) <= before
