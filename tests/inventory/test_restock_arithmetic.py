"""Restock arithmetic: the worked example, the list's reasons and order, and properties that always hold."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from rules.restock import (
    MAX_DAYS_OF_SUPPLY,
    SupplyLevel,
    build_restock_list,
    days_of_supply,
    group_by_vendor,
    order_quantity,
    supply_status,
)


def level(sku: str = "GLV-M", **overrides: object) -> SupplyLevel:
    values: dict[str, object] = dict(
        sku=sku, name=f"Item {sku}", unit="box", location="Store A", vendor="Medline", par=40.0,
        reorder_point=15.0, pack_size=10, lead_time_days=3.0, on_order=10.0, on_hand=12.0, daily_use=None,
        days_of_supply=None, counted_at=datetime(2026, 1, 5, tzinfo=UTC), status="low", text="",
    )
    values.update(overrides)
    if "days_of_supply" not in overrides:
        values["days_of_supply"] = days_of_supply(values["on_hand"], values["daily_use"])  # type: ignore[arg-type]
    return SupplyLevel(**values)  # type: ignore[arg-type]


def test_worked_example_par_40_on_hand_12_on_order_10_pack_10_orders_20() -> None:
    assert order_quantity(par=40, on_hand=12, on_order=10, pack_size=10) == 20


def test_quantity_is_zero_when_on_hand_and_on_order_cover_par() -> None:
    assert order_quantity(par=40, on_hand=30, on_order=20, pack_size=10) == 0
    assert order_quantity(par=40, on_hand=40, on_order=0, pack_size=1) == 0


def test_float_noise_does_not_buy_an_extra_pack() -> None:
    assert order_quantity(par=40, on_hand=20.000000001, on_order=0, pack_size=10) == 20


def test_days_of_supply() -> None:
    assert days_of_supply(12, 4) == 3
    assert days_of_supply(12, 0) == MAX_DAYS_OF_SUPPLY
    assert days_of_supply(None, 4) is None
    assert days_of_supply(12, None) is None


def test_status() -> None:
    assert supply_status(None, 10) == "unknown"
    assert supply_status(0, 10) == "out"
    assert supply_status(10, 10) == "low"
    assert supply_status(11, 10) == "ok"


def test_list_takes_items_at_or_below_reorder_point_or_forecast_to_reach_it_within_lead_time() -> None:
    lines = build_restock_list(
        [
            level("LOW", on_hand=12.0),  # below reorder point 15
            level("AT", on_hand=15.0, on_order=0.0),
            level("OUT", on_hand=0.0, on_order=0.0),
            level("FAST", on_hand=25.0, on_order=0.0, daily_use=5.0),  # reaches 15 in 2 days < 3-day lead time
            level("SLOW", on_hand=25.0, on_order=0.0, daily_use=1.0),  # 10 days away: not on the list
            level("FULL", on_hand=40.0, on_order=0.0),
            level("NEVER", on_hand=None),
        ]
    )
    by_sku = {line.sku: line for line in lines}
    assert set(by_sku) == {"LOW", "AT", "OUT", "FAST"}
    assert by_sku["LOW"].quantity == 20
    assert "reorder point" in by_sku["LOW"].reason
    assert by_sku["OUT"].reason == "out of stock"
    assert by_sku["OUT"].quantity == 40
    assert "forecast" in by_sku["FAST"].reason and "lead time" in by_sku["FAST"].reason
    assert by_sku["FAST"].days_of_supply == 5.0


def test_lines_are_grouped_by_vendor_then_storeroom() -> None:
    lines = build_restock_list(
        [
            level("B2", vendor="Staples", location="Store B"),
            level("A1", vendor="Medline", location="Store A"),
            level("B1", vendor="Staples", location="Store A"),
            level("A2", vendor="Medline", location="Store B"),
            level("A0", vendor="Medline", location="Store A"),
        ]
    )
    assert [line.sku for line in lines] == ["A0", "A1", "A2", "B1", "B2"]
    groups = group_by_vendor(lines)
    assert [(vendor, [room for room, _ in rooms]) for vendor, rooms in groups] == [
        ("Medline", ["Store A", "Store B"]),
        ("Staples", ["Store A", "Store B"]),
    ]


counts = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(par=counts, on_hand=counts, on_order=counts, pack=st.integers(min_value=1, max_value=500))
def test_quantity_is_never_negative_a_multiple_of_the_pack_and_covers_par(
    par: float, on_hand: float, on_order: float, pack: int
) -> None:
    quantity = order_quantity(par=par, on_hand=on_hand, on_order=on_order, pack_size=pack)
    assert quantity >= 0
    assert quantity % pack == 0
    # Covers PAR (within float noise) ...
    assert on_hand + on_order + quantity >= par - 1e-6 * max(1.0, par)
    # ... with less than one pack to spare: the smallest such order.
    if quantity > 0:
        assert on_hand + on_order + quantity - pack < par + 1e-6 * max(1.0, par)


@given(
    par=st.integers(min_value=0, max_value=10_000),
    on_hand=st.integers(min_value=0, max_value=10_000),
    on_order=st.integers(min_value=0, max_value=10_000),
    pack=st.integers(min_value=1, max_value=100),
)
def test_integer_counts_give_the_exact_ceiling(par: int, on_hand: int, on_order: int, pack: int) -> None:
    expected = max(0, math.ceil((par - on_hand - on_order) / pack) * pack)
    assert order_quantity(par=par, on_hand=on_hand, on_order=on_order, pack_size=pack) == expected
