from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rules.model import ConditionKind, Match, Rule, Subject
from rules.reading import Reading

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FRIDGE = Subject(id="fridge-2", name="Fridge 2", kind="fridge", location="Pharmacy", team="pharmacy")


def fridge_rule(**overrides: object) -> Rule:
    fields: dict[str, object] = dict(
        id="fridge-temp",
        metric="temperature_c",
        kind=ConditionKind.THRESHOLD,
        fire_low=2.0,
        fire_high=8.0,
        clear_low=2.5,
        clear_high=7.5,
        critical_low=0.0,
        critical_high=12.0,
        hold=timedelta(minutes=5),
        match=Match(kinds=frozenset({"fridge"})),
        team="pharmacy",
    )
    fields.update(overrides)
    return Rule(**fields)  # type: ignore[arg-type]


def reading(minute: float, value: float | str, subject: str = "fridge-2", metric: str = "temperature_c") -> Reading:
    v = float(value) if not isinstance(value, str) else value
    return Reading(subject=subject, metric=metric, value=v, ts=T0 + timedelta(minutes=minute), unit="°C")
