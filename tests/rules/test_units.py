"""Quantities in an item's own unit, as a person writes them."""

from __future__ import annotations

import pytest

from rules.units import Quantity, plural, quantity, singular


@pytest.mark.parametrize(
    ("unit", "many"),
    [("box", "boxes"), ("pack", "packs"), ("packs", "packs"), ("battery", "batteries"), ("tray", "trays"),
     ("each", "each"), ("ml", "ml"), ("brush", "brushes"), ("", "")],
)
def test_plural(unit: str, many: str) -> None:
    assert plural(unit) == many


def test_singular_and_quantity() -> None:
    assert singular("boxes") == "box" and singular("packs") == "pack" and singular("batteries") == "battery"
    assert quantity(22, "pack") == "22 packs"
    assert quantity(1, "boxes") == "1 box"
    assert quantity(2.5, "kg") == "2.5 kg"
    assert quantity(3, "") == "3"
    assert f"{Quantity(18.0):box} left" == "18 boxes left"
    assert str(Quantity(float("inf"))) == "∞"
