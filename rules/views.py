"""Plain read-side values the API speaks: alerts, events, equipment, the queue, people.

Standard library only. Services in agent/ build these from storage; api/ turns them into JSON
and pages. Wording helpers here keep the plain language in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from rules.durations import format_duration
from rules.messages import format_value, guess_unit
from rules.reading import Value
from rules.units import quantity


class Role(StrEnum):
    VIEWER = "viewer"  # read
    STAFF = "staff"  # ack, comment, resolve, counts
    COORDINATOR = "coordinator"  # assign, silences, supply settings
    ADMIN = "admin"  # users, tokens

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def allows(self, needed: Role) -> bool:
        """A role can do everything the roles below it can."""
        return self.rank >= needed.rank

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"unknown role {text!r}; use viewer, staff, coordinator or admin") from None


_ROLE_RANK = {Role.VIEWER: 0, Role.STAFF: 1, Role.COORDINATOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a signed-in person or an API token's owner."""

    username: str
    role: Role
    display_name: str = ""
    team: str = ""
    via: str = "session"  # session or token
    token_id: int | None = None

    @property
    def name(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: Role
    team: str
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    prefix: str
    username: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    token: TokenView
    secret: str


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
    rule_id: str
    subject: str
    subject_kind: str
    subject_name: str
    location: str
    status: str
    severity: str
    team: str
    message: str
    summary: str  # the message plus how long: "... for 12 minutes"
    since: datetime
    opened_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolve_reason: str | None
    assignee: str | None
    first_value: Value | None
    last_value: Value | None
    worst_value: Value | None
    last_seen_at: datetime
    occurrences: int
    escalation_level: int
    flapping: bool
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class AlertEventView:
    id: int
    alert_id: int
    at: datetime
    kind: str
    actor: str
    comment: str
    from_status: str | None
    to_status: str
    severity: str
    value: Value | None
    details: dict[str, Any]
    text: str  # plain description: "Acknowledged by Sam"


@dataclass(frozen=True, slots=True)
class AlertPage:
    items: list[AlertView]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class LowSupply:
    sku: str
    name: str
    location: str
    unit: str
    on_hand: float | None
    reorder_point: float
    par: float
    on_order: float
    days_of_supply: float | None
    text: str  # "Gloves M in Ward 3: 40 left (reorder at 100)"


@dataclass(frozen=True, slots=True)
class QueueView:
    """The coordinator's queue: open alerts by severity then age, one page of them, plus counts."""

    items: list[AlertView]
    next_cursor: str | None
    total_open: int
    by_severity: dict[str, int]
    acknowledged: int
    low_supplies: list[LowSupply]
    low_supply_count: int
    teams: list[str]
    generated_at: datetime


@dataclass(frozen=True, slots=True)
class KeyValue:
    metric: str
    label: str
    value: Value | None
    unit: str
    text: str  # "72%"
    at: datetime


@dataclass(frozen=True, slots=True)
class EquipmentView:
    id: str
    name: str
    kind: str
    location: str
    team: str
    model: str
    state: str  # ok, warning, critical, stale, unknown, retired
    state_text: str  # "OK", "Not heard from for 2 hours", "1 critical alert"
    last_seen: datetime | None
    key_values: list[KeyValue]
    open_alerts: int
    alerts: list[AlertView] = field(default_factory=list)
    retired_at: datetime | None = None  # no longer in the config; kept for its alerts and history


@dataclass(frozen=True, slots=True)
class UnknownSourceView:
    """Something publishing that matches no configured equipment or supply (e.g. an MQTT topic)."""

    source: str  # mqtt, snmp
    key: str  # the topic, or the host
    last_payload: str  # the first 500 characters of the last one
    count: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class SilenceView:
    id: int
    equipment_id: str | None
    rule_id: str | None
    team: str | None
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    ended_by: str | None = None  # who ended it before its time


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One alert change, as pushed to live clients (server-sent events)."""

    alert_id: int
    kind: str
    status: str
    severity: str
    subject: str
    team: str
    message: str
    actor: str
    at: datetime
    event_id: int | None


# ---------------------------------------------------------------------- wording

_METRIC_WORDS = {
    "pct": "%",
    "charge_pct": "charge",
    "temperature_c": "temperature",
    "humidity_pct": "humidity",
    "runtime_min": "runtime",
    "ups": "UPS",
}


def metric_label(metric: str) -> str:
    """'toner.black.pct' → 'Toner black', 'ups.battery.charge_pct' → 'Battery charge'."""
    parts = [p for p in metric.split(".") if p]
    if parts and parts[0] == "ups" and len(parts) > 1:
        parts = parts[1:]
    words: list[str] = []
    for part in parts:
        if part in ("pct", "c", "min", "s"):
            continue
        for suffix in ("_pct", "_c", "_min", "_s", "_v"):
            if part.endswith(suffix):
                part = part[: -len(suffix)]
                break
        words.append(part.replace("_", " "))
    text = " ".join(words) or metric
    return text[:1].upper() + text[1:]


def unit_for(metric: str, unit: str) -> str:
    """The unit as people write it, guessed from the metric's suffix when the reading had none."""
    if unit:
        return {"C": "°C", "degC": "°C", "celsius": "°C", "percent": "%", "pct": "%"}.get(unit, unit)
    return guess_unit(metric)


def value_text(value: Value | None, unit: str = "") -> str:
    if value is None:
        return "no value"
    return format_value(value, unit)


def summary(message: str, *, status: str, since: datetime, now: datetime, resolved_at: datetime | None) -> str:
    """The engine's message plus how long it has been so: '... for 12 minutes'."""
    end = resolved_at if resolved_at is not None else now
    lasted = max(end - since, timedelta(0))
    if status == "resolved":
        return f"{message} (lasted {format_duration(lasted)})"
    if lasted < timedelta(minutes=1):
        return f"{message} (just now)"  # "at 4.9% for 2 seconds" reads as if the value stood still
    return f"{message} for {format_duration(lasted)}"


def age_text(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "never"
    delta = now - then
    if delta < timedelta(seconds=60):
        return "just now"
    return f"{format_duration(delta)} ago"


_EVENT_WORDS = {
    "pending": "Condition started; waiting for the hold time",
    "cancelled": "Condition cleared before the hold time",
    "opened": "Alert opened",
    "severity_raised": "Got worse",
    "escalated": "Escalated: nobody acknowledged in time",
    "acknowledged": "Acknowledged",
    "unacknowledged": "Acknowledgement withdrawn",
    "recovering": "Back in range; holding the acknowledgement for a while",
    "relapsed": "Out of range again",
    "flapping": "Going on and off; notifications held",
    "settled": "Stopped going on and off",
    "resolved": "Resolved",
    "assigned": "Assigned",
    "comment": "Comment",
    "notify_gave_up": "Notification given up",
    "reopened": "Came back after it was resolved",
}


def event_text(kind: str, actor: str, details: dict[str, Any]) -> str:
    """'Acknowledged by sam', 'Assigned to biomed by coordinator', 'Resolved (fixed) by sam'."""
    words = _EVENT_WORDS.get(kind, kind.replace("_", " ").capitalize())
    if kind == "assigned":
        who = details.get("assignee") or "nobody"
        words = f"Assigned to {who}"
    elif kind == "resolved" and details.get("cleared_value"):
        words = f"Resolved: cleared at {details['cleared_value']}"
    elif kind == "resolved" and details.get("reason"):
        reason = str(details["reason"]).replace("_", " ")
        words = f"Resolved ({reason})"
    elif kind == "reopened" and details.get("reopened_as"):
        words = f"Came back as #{details['reopened_as']}: the condition still held"
    if details.get("reopened_from"):
        words = f"{words} again (reopened from #{details['reopened_from']})"
    if actor and actor != "system":
        words = f"{words} by {actor}"
    return words


def unit_text(amount: float | None, unit: str) -> str:
    """'18 boxes', '1 box', '3 cartridges', '12' (each): a count with its unit as people say it."""
    if amount is None:
        return "–"
    return format_value(amount) if unit in ("", "each") else quantity(amount, unit)


def low_supply_text(name: str, location: str, on_hand: float | None, reorder_point: float, unit: str) -> str:
    where = f" in {location}" if location else ""
    if on_hand is None:
        return f"{name}{where}: not counted yet"
    return f"{name}{where}: {unit_text(on_hand, unit)} left (reorder at {format_value(reorder_point)})"


@dataclass(frozen=True, slots=True)
class NotificationView:
    """One line of the notification log: who was told about an alert, how, and whether it got through."""

    channel: str
    recipient: str
    status: str  # sent, failed, silenced, held
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertContext:
    """What the alert page shows around an alert."""

    subject_name: str  # the equipment's or supply's name, also when it is not on the board
    rule_text: str  # the rule's description ("Toner at or below 10 %; clears above 15 %.")
    last_value: str  # with its unit: "9.4 °C", "18 boxes"
    worst_value: str
    notifications: list[NotificationView]
    still_holds: str  # "Ward 3 printer still reports 3%." when resolving now would reopen it


def order_text(par: float, on_hand: float, on_order: float, pack_size: int, quantity: float, unit: str = "") -> str:
    """Why this quantity: 'PAR 60 − 18 on hand − 0 on order = 42, rounded up to 5 packs of 10 = 50'."""
    need = par - on_hand - on_order
    text = f"PAR {format_value(par)} − {format_value(on_hand)} on hand − {format_value(on_order)} on order = {format_value(need)}"
    if need <= 0:
        return f"{text}: nothing to order"
    if pack_size > 1:
        packs = f"{format_value(quantity / pack_size)} packs of {pack_size}"
        if quantity == need:
            return f"{text}, {packs}"
        return f"{text}, rounded up to {packs} = {unit_text(quantity, unit)}"
    if quantity != need:
        return f"{text}, rounded up to {unit_text(quantity, unit)}"
    return text
