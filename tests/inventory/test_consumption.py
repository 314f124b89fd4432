"""Consumption from counts: drops, restocks, unexpected drops, daily use and reorder-point advice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.consumption import (
    CHANGE_CONSUMPTION,
    CHANGE_COUNT,
    CHANGE_RESTOCK,
    CHANGE_UNEXPECTED_DROP,
    classify_change,
    count_stockouts,
    daily_use,
    suggest_reorder_point,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_first_count_and_unchanged_counts_are_plain_counts() -> None:
    assert classify_change(None, 10, daily_use=None, elapsed=timedelta(0)).kind == CHANGE_COUNT
    assert classify_change(10, 10, daily_use=2, elapsed=timedelta(days=1)).kind == CHANGE_COUNT


def test_a_drop_is_consumption_and_a_rise_a_restock() -> None:
    drop = classify_change(10, 7, daily_use=2, elapsed=timedelta(days=1))
    assert (drop.kind, drop.consumed) == (CHANGE_CONSUMPTION, 3)
    assert classify_change(7, 30, daily_use=2, elapsed=timedelta(days=1)).kind == CHANGE_RESTOCK


def test_a_drop_far_beyond_what_the_elapsed_time_explains_is_unexpected() -> None:
    # 2 a day; 1 hour later 20 are gone: 3 days of use on top would be 6.
    verdict = classify_change(50, 30, daily_use=2, elapsed=timedelta(hours=1))
    assert verdict.kind == CHANGE_UNEXPECTED_DROP
    assert verdict.consumed == 0
    assert verdict.excess == pytest.approx(20 - 2 / 24)


def test_a_week_between_cycle_counts_explains_a_week_of_use() -> None:
    assert classify_change(50, 36, daily_use=2, elapsed=timedelta(days=7)).kind == CHANGE_CONSUMPTION


def test_no_history_means_no_unexpected_drop() -> None:
    assert classify_change(50, 0, daily_use=None, elapsed=timedelta(hours=1)).kind == CHANGE_CONSUMPTION


def test_daily_use_needs_a_day_of_history_and_looks_back_over_the_window() -> None:
    assert daily_use(5, first_seen=None, now=T0) is None
    assert daily_use(5, first_seen=T0 - timedelta(hours=23), now=T0) is None
    assert daily_use(5, first_seen=T0 - timedelta(days=1), now=T0) == 5.0
    assert daily_use(30, first_seen=T0 - timedelta(days=10), now=T0) == pytest.approx(3.0)
    assert daily_use(56, first_seen=T0 - timedelta(days=90), now=T0) == pytest.approx(2.0)  # 28-day window


def test_stockouts_are_counted_once_per_run_out() -> None:
    assert count_stockouts([5, 3, 0, 0, 10, 2, 0, 8]) == 2
    assert count_stockouts([0, 0, 4]) == 1
    assert count_stockouts([0, 0, 4], starting_out=True) == 0


def test_suggested_reorder_point_shows_its_arithmetic() -> None:
    totals = [6.0, 4.0, 8.0, 6.0] * 7
    suggestion = suggest_reorder_point(
        sku="GLV-M", name="Gloves M", daily_totals=totals, lead_time_days=4, current=10, stockouts=2
    )
    assert suggestion is not None
    # mean 6, population sd √2 ≈ 1.414; 6 × 4 = 24; 1.65 × 1.414 × 2 = 4.67; 28.67 → 29
    assert suggestion.suggested == 29
    assert "Daily use 6.0 × lead time 4 days = 24.0" in suggestion.arithmetic
    assert "1.65 × 1.4" in suggestion.arithmetic and "√4" in suggestion.arithmetic
    assert "24.0 + 4.7 = 28.7, rounded up to 29" in suggestion.arithmetic
    assert "from 10 to 29" in suggestion.text and "2 times" in suggestion.text


def test_no_suggestion_when_the_current_reorder_point_is_enough() -> None:
    assert suggest_reorder_point(sku="X", name="X", daily_totals=[1.0] * 10, lead_time_days=2, current=5, stockouts=1) is None


@given(
    previous=st.one_of(st.none(), st.floats(min_value=0, max_value=1e5)),
    value=st.floats(min_value=0, max_value=1e5),
    use=st.one_of(st.none(), st.floats(min_value=0, max_value=1e3)),
    hours=st.floats(min_value=0, max_value=24 * 60),
)
def test_a_change_is_one_kind_and_only_drops_count_as_use(
    previous: float | None, value: float, use: float | None, hours: float
) -> None:
    verdict = classify_change(previous, value, daily_use=use, elapsed=timedelta(hours=hours))
    assert verdict.consumed >= 0
    if verdict.kind == CHANGE_CONSUMPTION:
        assert previous is not None and verdict.consumed == previous - value > 0
    else:
        assert verdict.consumed == 0
    if verdict.kind == CHANGE_RESTOCK:
        assert previous is not None and value > previous
    if verdict.kind == CHANGE_UNEXPECTED_DROP:
        assert previous is not None and use and verdict.excess > 3 * use


@given(st.lists(st.floats(min_value=0, max_value=1e4), min_size=1, max_size=60),
       st.floats(min_value=0.5, max_value=30), st.floats(min_value=0, max_value=1e4))
def test_a_suggestion_always_raises_the_reorder_point_and_covers_lead_time_use(
    totals: list[float], lead: float, current: float
) -> None:
    suggestion = suggest_reorder_point(
        sku="X", name="X", daily_totals=totals, lead_time_days=lead, current=current, stockouts=1
    )
    if suggestion is not None:
        assert suggestion.suggested > current
        assert suggestion.suggested >= suggestion.daily_use * lead - 1e-6
        assert f"rounded up to {suggestion.suggested}." in suggestion.arithmetic
