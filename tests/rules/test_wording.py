"""Plain words on the pages: counts with their units, the order quantity worked out, no
repeated location, a bare reading's unit from its metric, and a just-opened alert's summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules.messages import render_message
from rules.model import ConditionKind, Rule, Subject
from rules.views import order_text, summary, unit_text

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("quantity", "unit", "text"),
    [(18, "box", "18 boxes"), (1, "box", "1 box"), (3, "cartridge", "3 cartridges"), (12, "each", "12"),
     (2.5, "", "2.5"), (4, "packs", "4 packs"), (None, "box", "–")],
)
def test_counts_carry_their_unit(quantity: float | None, unit: str, text: str) -> None:
    assert unit_text(quantity, unit) == text


def test_the_order_quantity_is_worked_out_in_words() -> None:
    assert order_text(60, 18, 0, 10, 50, "box") == (
        "PAR 60 − 18 on hand − 0 on order = 42, rounded up to 5 packs of 10 = 50 boxes"
    )
    assert order_text(60, 20, 0, 10, 40, "box") == "PAR 60 − 20 on hand − 0 on order = 40, 4 packs of 10"
    assert order_text(4, 1, 0, 1, 3, "cartridge") == "PAR 4 − 1 on hand − 0 on order = 3"
    assert order_text(10, 8, 5, 1, 0) == "PAR 10 − 8 on hand − 5 on order = -3: nothing to order"


def test_a_name_that_holds_its_location_is_not_followed_by_it() -> None:
    rule = Rule(id="toner", metric="toner.black.pct", kind=ConditionKind.THRESHOLD, fire_low=10, low_inclusive=True,
                message="{name} in {location}: {what} is at {value}")
    printer = Subject(id="p", name="Ward 3 printer", location="Ward 3")
    fridge = Subject(id="f", name="Fridge 2", location="Pharmacy")
    assert render_message(rule, printer, 3.0, metric="toner.black.pct") == "Ward 3 printer: black toner is at 3%"
    assert render_message(rule, fridge, 3.0, "%") == "Fridge 2 in Pharmacy: black toner is at 3%"


def test_a_bare_reading_gets_its_unit_from_the_metric() -> None:
    rule = Rule(id="t", metric="temperature_c", kind=ConditionKind.THRESHOLD, fire_high=8)
    assert render_message(rule, Subject(id="f", name="Fridge 2"), 9.4) == "Fridge 2 is at 9.4 °C, above 8 °C"


def test_a_just_opened_alert_does_not_say_for_2_seconds() -> None:
    assert summary("Toner at 3%", status="open", since=NOW, now=NOW + timedelta(seconds=2), resolved_at=None) == (
        "Toner at 3% (just now)"
    )
    assert summary("Toner at 3%", status="open", since=NOW, now=NOW + timedelta(minutes=12), resolved_at=None) == (
        "Toner at 3% for 12 minutes"
    )
