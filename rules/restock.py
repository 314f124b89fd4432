"""Restock arithmetic and the supply/restock values the API and reports speak. Pure and exact.

Order quantity = PAR − on hand − on order, rounded UP to whole packs, never negative.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from rules.messages import format_value

# Cap for "days of supply" when nothing is used: a finite number so it can be stored and compared.
MAX_DAYS_OF_SUPPLY = 3650.0

STATUS_OUT = "out"
STATUS_LOW = "low"
STATUS_OK = "ok"
STATUS_UNKNOWN = "unknown"  # never counted


def order_quantity(*, par: float, on_hand: float, on_order: float, pack_size: int) -> int:
    """Units to order so on hand + on order reaches PAR, in whole packs; 0 when already covered.

    >>> order_quantity(par=40, on_hand=12, on_order=10, pack_size=10)
    20
    """
    if pack_size < 1:
        raise ValueError("pack_size must be at least 1")
    short = par - on_hand - on_order
    if not short > 0:  # also catches NaN
        return 0
    # Counts can carry float noise (12.000000001); don't buy a whole extra pack for it.
    packs = math.ceil(round(short / pack_size, 9))
    return int(packs * pack_size)


def days_of_supply(on_hand: float | None, daily_use: float | None) -> float | None:
    """On hand ÷ daily use; None when either is unknown, capped when nothing is being used."""
    if on_hand is None or daily_use is None:
        return None
    if daily_use <= 0:
        return MAX_DAYS_OF_SUPPLY
    return min(max(on_hand, 0.0) / daily_use, MAX_DAYS_OF_SUPPLY)


def supply_status(on_hand: float | None, reorder_point: float) -> str:
    if on_hand is None:
        return STATUS_UNKNOWN
    if on_hand <= 0:
        return STATUS_OUT
    if on_hand <= reorder_point:
        return STATUS_LOW
    return STATUS_OK


@dataclass(frozen=True, slots=True)
class SupplyLevel:
    """One supply item as people see it: settings, what is on hand, and how fast it goes."""

    sku: str
    name: str
    unit: str
    location: str
    vendor: str
    par: float
    reorder_point: float
    pack_size: int
    lead_time_days: float
    on_order: float
    on_hand: float | None
    daily_use: float | None
    days_of_supply: float | None
    counted_at: datetime | None
    status: str  # ok, low, out, unknown
    text: str  # "Gloves M in Ward 3: 40 left (reorder at 100)"
    fits_models: tuple[str, ...] = ()
    part_numbers: tuple[str, ...] = ()
    settings_changed_by: str | None = None

    @property
    def is_low(self) -> bool:
        return self.status in (STATUS_LOW, STATUS_OUT)


@dataclass(frozen=True, slots=True)
class RestockLine:
    """One line of the restock list: what to order, for whom, how much, and why."""

    sku: str
    name: str
    unit: str
    location: str
    vendor: str
    on_hand: float
    on_order: float
    par: float
    reorder_point: float
    pack_size: int
    lead_time_days: float
    quantity: int
    days_of_supply: float | None
    daily_use: float | None
    reason: str

    @property
    def packs(self) -> int:
        return self.quantity // self.pack_size if self.pack_size else 0


@dataclass(frozen=True, slots=True)
class RestockReportView:
    """One nightly restock report and its delivery state (GET /restock/reports)."""

    id: int
    site_id: str
    date: str  # the site's local date, YYYY-MM-DD
    state: str  # claimed, sending, retrying, sent, failed
    attempts: int
    recipients: list[str]
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None
    last_error: str
    lines: int
    details: dict[str, object] = field(default_factory=dict)


def restock_reason(level: SupplyLevel) -> str | None:
    """Why an item belongs on the restock list, in words; None when it doesn't.

    It does when on hand is at or below the reorder point, or when at the current daily use it
    will reach the reorder point before an order placed now could arrive (the lead time).
    """
    on_hand = level.on_hand
    if on_hand is None:
        return None
    if on_hand <= 0:
        return "out of stock"
    if on_hand <= level.reorder_point:
        return f"at or below the reorder point ({format_value(on_hand)} on hand, reorder at {format_value(level.reorder_point)})"
    use = level.daily_use
    if use and use > 0 and level.lead_time_days > 0:
        days_to_reorder_point = (on_hand - level.reorder_point) / use
        if days_to_reorder_point < level.lead_time_days:
            return (
                f"forecast to reach the reorder point in {format_value(days_to_reorder_point)} days, "
                f"before an order can arrive ({format_value(level.lead_time_days)}-day lead time)"
            )
    return None


def restock_line(level: SupplyLevel) -> RestockLine | None:
    reason = restock_reason(level)
    if reason is None or level.on_hand is None:
        return None
    quantity = order_quantity(
        par=level.par, on_hand=level.on_hand, on_order=level.on_order, pack_size=level.pack_size
    )
    if quantity == 0:
        reason += f"; already covered by {format_value(level.on_order)} on order"
    return RestockLine(
        sku=level.sku,
        name=level.name,
        unit=level.unit,
        location=level.location,
        vendor=level.vendor,
        on_hand=level.on_hand,
        on_order=level.on_order,
        par=level.par,
        reorder_point=level.reorder_point,
        pack_size=level.pack_size,
        lead_time_days=level.lead_time_days,
        quantity=quantity,
        days_of_supply=level.days_of_supply,
        daily_use=level.daily_use,
        reason=reason,
    )


def build_restock_list(levels: Iterable[SupplyLevel]) -> list[RestockLine]:
    """Every item that needs ordering, grouped by vendor, then storeroom, then sku."""
    lines = [line for level in levels if (line := restock_line(level)) is not None]
    lines.sort(key=lambda line: (line.vendor.lower() or "~", line.location.lower(), line.sku))
    return lines


def group_by_vendor(lines: Sequence[RestockLine]) -> list[tuple[str, list[tuple[str, list[RestockLine]]]]]:
    """[(vendor, [(storeroom, lines)])] in list order: the shape of the email and the page."""
    out: list[tuple[str, list[tuple[str, list[RestockLine]]]]] = []
    for line in lines:
        vendor = line.vendor or "No vendor set"
        if not out or out[-1][0] != vendor:
            out.append((vendor, []))
        rooms = out[-1][1]
        room = line.location or "No storeroom set"
        if not rooms or rooms[-1][0] != room:
            rooms.append((room, []))
        rooms[-1][1].append(line)
    return out


def days_text(days: float | None) -> str:
    if days is None:
        return "unknown"
    if days >= MAX_DAYS_OF_SUPPLY:
        return "no recent use"
    return f"{days:.1f}"


def report_subject(site_name: str, day: date, lines: int) -> str:
    items = "1 item" if lines == 1 else f"{lines} items"
    return f"Restock list for {site_name}, {day.isoformat()}: {items} to order"
