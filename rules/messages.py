"""Plain-language alert messages from a rule, its subject and a value."""

from __future__ import annotations

import math
import string
from datetime import timedelta

from rules.durations import format_duration
from rules.model import INF, ConditionKind, Rule, Subject
from rules.reading import Value
from rules.units import Quantity

_TIGHT_UNITS = frozenset({"%", "°"})  # "9.1 °C" but "8.8%", as people write them


def format_value(value: Value, unit: str = "") -> str:
    """4.25 → '4.3', 100.0 → '100', 'on_battery' → 'on battery'; unit attached as people write it."""
    if isinstance(value, str):
        return value.replace("_", " ")
    if math.isinf(value):
        return "∞"
    text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if not unit:
        return text
    return f"{text}{unit}" if unit in _TIGHT_UNITS else f"{text} {unit}"


def guess_unit(metric: str) -> str:
    """The unit a bare reading (no unit given) is in, from its metric's suffix: '9.4 °C', not '9.4'."""
    if metric.endswith("pct"):
        return "%"
    if metric.endswith("_c"):
        return "°C"
    if metric.endswith("_min"):
        return "min"
    return ""


class _Fields(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _names_location(subject: Subject) -> bool:
    """'Ward 3 printer' already says it is in Ward 3: don't add "in Ward 3" after it."""
    return bool(subject.location) and subject.location.lower() in subject.display_name.lower()


def _default_template(rule: Rule, subject: Subject) -> str:
    where = " in {location}" if subject.location and not _names_location(subject) else ""
    head = "{name}" + where
    if rule.kind is ConditionKind.THRESHOLD:
        if rule.fire_low > -INF and rule.fire_high < INF:
            return head + " is at {value} (safe range {low_number}–{high})"
        if rule.fire_high < INF:
            return head + " is at {value}, above {high}"
        return head + " is at {value}, " + ("at or below" if rule.low_inclusive else "below") + " {low}"
    if rule.kind is ConditionKind.EQUALS:
        return head + " reports {value}"
    if rule.kind is ConditionKind.ABSENT:
        return head + " has sent nothing for {absent_for}"
    return head + " is changing by {value} per minute"


_UNIT_SUFFIXES = frozenset({"pct", "c", "s", "min", "v", "w", "g", "count"})


def describe_metric(metric: str) -> str:
    """'toner.black.pct' → 'black toner', 'tray.2.pct' → 'tray 2', 'temperature_c' → 'temperature'."""
    parts = [p for p in metric.split(".") if p]
    if len(parts) > 1 and parts[-1] in _UNIT_SUFFIXES:
        parts = parts[:-1]
    parts = [p.removesuffix("_pct").removesuffix("_c").replace("_", " ") for p in parts]
    if len(parts) == 2 and not parts[1].isdigit():
        return f"{parts[1]} {parts[0]}"
    return " ".join(parts)


def render_message(rule: Rule, subject: Subject, value: Value, unit: str = "", metric: str = "") -> str:
    """Fill the rule's template (or a default) with the subject's name, location and the value."""
    template = rule.message or _default_template(rule, subject)
    unit = unit or guess_unit(metric or rule.metric)
    if _names_location(subject):
        template = template.replace(" in {location}", "")
    fields = _Fields(
        name=subject.display_name,
        subject=subject.id,
        location=subject.location or "an unknown location",
        team=subject.team or rule.team,
        metric=metric or rule.metric,
        what=describe_metric(metric or rule.metric),
        value=format_value(value, unit),
        qty=Quantity(value) if isinstance(value, float) else format_value(value),  # {qty:box} → 18 boxes
        unit=unit,
        low=format_value(rule.fire_low, unit) if rule.fire_low > -INF else "",
        low_number=format_value(rule.fire_low) if rule.fire_low > -INF else "",
        high=format_value(rule.fire_high, unit) if rule.fire_high < INF else "",
        threshold=format_value(rule.fire_high if rule.fire_high < INF else rule.fire_low, unit),
        states=", ".join(sorted(rule.states)),
        absent_for=format_duration(rule.absent_after),
    )
    try:
        return string.Formatter().vformat(template, (), fields)
    except (ValueError, IndexError):
        # A malformed template must not lose the alert: fall back to the default wording.
        return string.Formatter().vformat(_default_template(rule, subject), (), fields)


def silent_for(delta: timedelta) -> str:
    return format_duration(delta)
