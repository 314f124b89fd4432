"""An item's own unit in a sentence: "22 packs", "1 box", "18 boxes", "3.5 kg". Pure."""

from __future__ import annotations

import math

# Units that read the same for one or many ("5 each", "250 ml").
_INVARIANT = frozenset({"each", "ea", "ml", "l", "g", "kg", "mg", "mm", "cm", "m", "%", "units"})
_SIBILANT = ("s", "x", "z", "ch", "sh")


def plural(unit: str) -> str:
    """box → boxes, pack → packs, bottle → bottles, syringe → syringes; a plural stays as it is."""
    word = unit.strip()
    if not word or word.lower() in _INVARIANT:
        return word
    lower = word.lower()
    if lower.endswith("s") and not lower.endswith("ss"):
        return word  # already plural ("packs", "gloves")
    if lower.endswith(_SIBILANT):
        return word + "es"
    if lower.endswith("y") and len(lower) > 1 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def singular(unit: str) -> str:
    """The inverse for the common cases: boxes → box, packs → pack, bottles → bottle."""
    word = unit.strip()
    lower = word.lower()
    if not word or lower in _INVARIANT or lower.endswith("ss") or not lower.endswith("s"):
        return word
    if lower.endswith("ies") and len(lower) > 3:
        return word[:-3] + "y"
    if lower.endswith("es") and lower[:-2].endswith(_SIBILANT):
        return word[:-2]
    return word[:-1]


def _number(value: float) -> str:
    """As rules.messages.format_value writes a number (that module uses this one's Quantity)."""
    if not math.isfinite(value):
        return "∞" if value > 0 else str(value)
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def quantity(value: float, unit: str) -> str:
    """The number and the unit as people say it: quantity(22, "pack") → "22 packs"."""
    text = _number(value)
    if not unit.strip():
        return text
    word = singular(unit) if value == 1 else plural(unit)
    return f"{text} {word}"


class Quantity:
    """A value that formats with the unit given as its format spec, for message templates:
    ``"{qty:box} left".format(qty=Quantity(18.0))`` → "18 boxes left"."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return quantity(self.value, spec)

    def __str__(self) -> str:
        return _number(self.value)
