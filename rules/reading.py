"""The one Reading type that every collector produces and the pipeline consumes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

SubjectKind = Literal["equipment", "supply"]
Value = float | str


@dataclass(frozen=True, slots=True)
class Reading:
    """One observed value of one metric of one subject at one time.

    subject: an equipment id, or a supply sku when subject_kind is "supply".
    metric: dotted lowercase with the unit last, e.g. ``toner.black.pct``, ``temperature_c``.
    value: a float, or a small string state such as ``on_battery`` or ``some_remaining``.
    ts: an aware UTC datetime.
    """

    subject: str
    metric: str
    value: Value
    ts: datetime
    unit: str = ""
    source: str = ""
    subject_kind: SubjectKind = "equipment"

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, float)


class InvalidReading(ValueError):
    """A reading that can never be valid: the message says which field and why."""


def make_reading(
    *,
    subject: str,
    metric: str,
    value: object,
    ts: datetime,
    unit: str = "",
    source: str = "",
    subject_kind: SubjectKind = "equipment",
) -> Reading:
    """Build a Reading from loosely typed input, rejecting what can't be stored.

    Ints and bools become floats; NaN and infinities are refused, because no threshold can
    compare them and they poison aggregates. States must be short non-empty strings.
    """
    if not subject:
        raise InvalidReading("subject is empty")
    if not metric:
        raise InvalidReading("metric is empty")
    if ts.tzinfo is None:
        raise InvalidReading("timestamp has no time zone")
    number: Value
    if isinstance(value, bool):
        number = 1.0 if value else 0.0
    elif isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidReading(f"value {value!r} is not a finite number")
    elif isinstance(value, str):
        state = value.strip()
        if not state or len(state) > 64:
            raise InvalidReading("state must be 1 to 64 characters")
        number = state
    else:
        raise InvalidReading(f"value of type {type(value).__name__} is neither a number nor a state")
    return Reading(
        subject=subject,
        metric=metric,
        value=number,
        ts=ts,
        unit=unit,
        source=source,
        subject_kind=subject_kind,
    )
