"""Stock advice for the weekly report: raise or lower an item's reorder point and PAR, with every
figure that enters the formula. Pure.

    reorder point = average daily use × lead time + safety stock
    safety stock  = z × σ(daily use) × √(lead time),   z for a 95 % service level
    PAR           = reorder point + average daily use × review period
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rules.units import plural, quantity

SERVICE_LEVEL = 0.95
Z_95 = statistics.NormalDist().inv_cdf(SERVICE_LEVEL)  # 1.645
MIN_DAYS = 14  # fewer days of counts than this say too little about day-to-day variation
RAISE = "raise"
LOWER = "lower"
KEEP = "keep"


@dataclass(frozen=True, slots=True)
class StockFigures:
    days: int
    average: float  # units a day
    sigma: float  # population standard deviation of the daily totals
    lead_time_days: float
    review_days: float
    z: float
    lead_demand: float  # average × lead time
    safety_stock: float  # z × σ × √lead time
    reorder_point: int  # ceil(lead demand + safety stock)
    par: int  # ceil(reorder point + average × review period)

    def arithmetic(self, unit: str = "") -> str:
        u = f" {plural(unit)}" if unit else ""
        return (
            f"Average daily use {self.average:.2f}{u} over {self.days} days, σ {self.sigma:.2f}; "
            f"lead time {self.lead_time_days:g} days → lead-time demand {self.average:.2f} × {self.lead_time_days:g} "
            f"= {self.lead_demand:.2f}; safety stock {self.z:.3f} × {self.sigma:.2f} × √{self.lead_time_days:g} "
            f"= {self.safety_stock:.2f}; reorder point {self.lead_demand:.2f} + {self.safety_stock:.2f} "
            f"= {self.lead_demand + self.safety_stock:.2f} → {self.reorder_point}; PAR {self.reorder_point} + "
            f"{self.average:.2f} × {self.review_days:g}-day review = "
            f"{self.reorder_point + self.average * self.review_days:.2f} → {self.par}."
        )


@dataclass(frozen=True, slots=True)
class StockAdvice:
    sku: str
    name: str
    unit: str
    direction: str  # raise, lower, keep
    reason: str  # one line
    current_reorder_point: float
    current_par: float
    figures: StockFigures | None  # None when there were too few days
    reorder_point: float  # what to set: a raise never lowers either figure, a lowering never raises one
    par: float

    @property
    def applicable(self) -> bool:
        return self.direction in (RAISE, LOWER)


def _changes(reorder_point: float, par: float, new_rop: float, new_par: float, figures: StockFigures) -> str:
    """'raise the reorder point 8 → 12 and raise PAR 20 → 42', naming only what changes (and what
    the formula would have lowered on a raise, or raised on a lowering, but stays)."""
    parts, kept = [], []
    for label, now, new, formula in (("the reorder point", reorder_point, new_rop, figures.reorder_point),
                                     ("PAR", par, new_par, figures.par)):
        if new != now:
            parts.append(f"{'raise' if new > now else 'lower'} {label} {now:g} → {new:g}")
        elif formula != now:
            kept.append(f"{label} stays at {now:g} (the formula gives {formula})")
    return " and ".join(parts) + "".join(f"; {k}" for k in kept)


def stock_figures(
    daily_totals: Sequence[float], *, lead_time_days: float, review_days: float = 7.0, z: float = Z_95
) -> StockFigures:
    average = statistics.fmean(daily_totals)
    sigma = statistics.pstdev(daily_totals) if len(daily_totals) > 1 else 0.0
    lead = max(lead_time_days, 0.0)
    lead_demand = average * lead
    safety = z * sigma * math.sqrt(lead)
    # Rounded to 9 places first so float noise (12.000000001) doesn't add a whole unit.
    rop = math.ceil(round(lead_demand + safety, 9))
    par = math.ceil(round(rop + average * review_days, 9))
    return StockFigures(
        days=len(daily_totals), average=average, sigma=sigma, lead_time_days=lead, review_days=review_days, z=z,
        lead_demand=lead_demand, safety_stock=safety, reorder_point=rop, par=par,
    )


def stock_advice(
    *,
    sku: str,
    name: str,
    unit: str,
    daily_totals: Sequence[float],
    lead_time_days: float,
    reorder_point: float,
    par: float,
    lowest_on_hand: float | None,
    stayed_above_par: bool,
    review_days: float = 7.0,
    min_days: int = MIN_DAYS,
) -> StockAdvice:
    """What to do with one item's reorder point and PAR.

    daily_totals: units used on each whole day of history (zeros included); lowest_on_hand: the
    lowest count in the report's week (None: not counted); stayed_above_par: every count of the
    week was above PAR."""

    def keep(reason: str, figures: StockFigures | None = None) -> StockAdvice:
        return StockAdvice(sku, name, unit, KEEP, reason, reorder_point, par, figures, reorder_point, par)

    if len(daily_totals) < min_days:
        return keep(
            f"no change: only {len(daily_totals)} days of counts, and {min_days} are needed to trust the "
            "day-to-day variation"
        )
    figures = stock_figures(daily_totals, lead_time_days=lead_time_days, review_days=review_days)
    near_out = lowest_on_hand is not None and (lowest_on_hand <= 0 or lowest_on_hand <= figures.average)
    if near_out and (figures.reorder_point > reorder_point or figures.par > par):
        assert lowest_on_hand is not None
        what = "ran out" if lowest_on_hand <= 0 else f"came within a day of running out ({quantity(lowest_on_hand, unit)} left)"
        new_rop, new_par = max(reorder_point, figures.reorder_point), max(par, figures.par)
        return StockAdvice(
            sku, name, unit, RAISE, f"it {what}: {_changes(reorder_point, par, new_rop, new_par, figures)}",
            reorder_point, par, figures, new_rop, new_par,
        )
    if stayed_above_par and (figures.par < par or figures.reorder_point < reorder_point):
        new_rop, new_par = min(reorder_point, figures.reorder_point), min(par, figures.par)
        return StockAdvice(
            sku, name, unit, LOWER,
            f"it stayed above PAR all week: {_changes(reorder_point, par, new_rop, new_par, figures)}, "
            f"{quantity(par - new_par, unit)} less on the shelf",
            reorder_point, par, figures, new_rop, new_par,
        )
    return keep("no change: stock stayed between running short and sitting above PAR", figures)
