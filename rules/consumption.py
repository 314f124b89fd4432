"""Consumption from counts: what a change in count means, daily use, and reorder-point advice. Pure.

A drop is consumption and a rise a restock. A drop much bigger than the elapsed time explains
(more than a few days of normal use on top) is an "unexpected drop": stock misplaced or removed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rules.messages import format_value

CHANGE_COUNT = "count"  # first count, or no change
CHANGE_CONSUMPTION = "consumption"
CHANGE_RESTOCK = "restock"
CHANGE_UNEXPECTED_DROP = "unexpected_drop"

DEFAULT_UNEXPECTED_DAYS = 3.0  # a drop this many days of use beyond what the elapsed time explains
DEFAULT_USE_WINDOW = timedelta(days=28)
MIN_OBSERVED_DAYS = 1.0  # watch an item this long before calling its use a daily rate
SERVICE_LEVEL_Z = 1.65  # about a 95 % chance of not running out during the lead time


@dataclass(frozen=True, slots=True)
class ChangeVerdict:
    kind: str
    consumed: float  # units used by this change (0 for restocks, counts and unexpected drops)
    excess: float = 0.0  # for an unexpected drop: units beyond what normal use explains


def classify_change(
    previous: float | None,
    value: float,
    *,
    daily_use: float | None,
    elapsed: timedelta,
    unexpected_days: float = DEFAULT_UNEXPECTED_DAYS,
) -> ChangeVerdict:
    """What a new count says compared with the one before it."""
    if previous is None or value == previous:
        return ChangeVerdict(CHANGE_COUNT, 0.0)
    if value > previous:
        return ChangeVerdict(CHANGE_RESTOCK, 0.0)
    drop = previous - value
    if daily_use is not None and daily_use > 0:
        elapsed_days = max(elapsed.total_seconds(), 0.0) / 86400.0
        expected = daily_use * elapsed_days
        excess = drop - expected
        if excess > unexpected_days * daily_use:
            return ChangeVerdict(CHANGE_UNEXPECTED_DROP, 0.0, excess)
    return ChangeVerdict(CHANGE_CONSUMPTION, drop)


def daily_use(consumed: float, *, first_seen: datetime | None, now: datetime, window: timedelta = DEFAULT_USE_WINDOW) -> float | None:
    """Average use per day over the window (or since the item was first counted, if later).

    None until the item has been watched for a day: an hour's drop says little about a day's use.
    A moving average over weeks smooths the day-to-day noise of shelves that report every few
    seconds and of people who count once a week.
    """
    if first_seen is None:
        return None
    start = max(first_seen, now - window)
    observed_days = (now - start).total_seconds() / 86400.0
    if observed_days < MIN_OBSERVED_DAYS:
        return None
    return max(consumed, 0.0) / observed_days


def count_stockouts(values: Sequence[float], *, starting_out: bool = False) -> int:
    """How many times the count went to zero: from above zero, or at the start unless it was
    already out before (starting_out)."""
    times = 0
    was_out = starting_out
    for value in values:
        out = value <= 0
        if out and not was_out:
            times += 1
        was_out = out
    return times


@dataclass(frozen=True, slots=True)
class ReorderSuggestion:
    sku: str
    name: str
    current: float
    suggested: int
    daily_use: float
    std_daily_use: float
    lead_time_days: float
    safety_stock: float
    stockouts: int
    arithmetic: str  # the numbers, spelled out

    @property
    def text(self) -> str:
        times = "once" if self.stockouts == 1 else f"{self.stockouts} times"
        return (
            f"Raise the reorder point of {self.name} ({self.sku}) from {format_value(self.current)} to "
            f"{self.suggested}: it ran out {times}. {self.arithmetic}"
        )


def suggest_reorder_point(
    *,
    sku: str,
    name: str,
    daily_totals: Sequence[float],
    lead_time_days: float,
    current: float,
    stockouts: int,
    z: float = SERVICE_LEVEL_Z,
) -> ReorderSuggestion | None:
    """Reorder point = daily use × lead time + safety stock, where safety stock = z × σ × √lead time.

    daily_totals: units used on each day of the history (zeros included). None when there is
    no history or the suggestion would not raise the current reorder point.
    """
    if not daily_totals:
        return None
    use = statistics.fmean(daily_totals)
    sigma = statistics.pstdev(daily_totals) if len(daily_totals) > 1 else 0.0
    lead_use = use * lead_time_days
    safety = z * sigma * math.sqrt(max(lead_time_days, 0.0))
    total = lead_use + safety
    suggested = math.ceil(round(total, 6))
    if suggested <= current:
        return None
    arithmetic = (
        f"Daily use {use:.1f} × lead time {format_value(lead_time_days)} days = {lead_use:.1f}; "
        f"safety stock = {z:g} × {sigma:.1f} (day-to-day variation) × √{format_value(lead_time_days)} "
        f"= {safety:.1f}; {lead_use:.1f} + {safety:.1f} = {total:.1f}, rounded up to {suggested}."
    )
    return ReorderSuggestion(
        sku=sku,
        name=name,
        current=current,
        suggested=suggested,
        daily_use=use,
        std_daily_use=sigma,
        lead_time_days=lead_time_days,
        safety_stock=safety,
        stockouts=stockouts,
        arithmetic=arithmetic,
    )
