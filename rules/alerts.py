"""Alert states and the transitions the engine reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rules.reading import Value
from rules.severity import Severity


class AlertStatus(StrEnum):
    PENDING = "pending"  # condition true, hold time not yet reached
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


ACTIVE_STATUSES = frozenset({AlertStatus.PENDING, AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED})


class ResolveReason(StrEnum):
    CLEARED = "cleared"  # the condition cleared by itself
    FIXED = "fixed"
    RESTOCKED = "restocked"
    FALSE_ALARM = "false_alarm"
    SENSOR_FAULT = "sensor_fault"
    OTHER = "other"
    SUPERSEDED = "superseded"  # replaced by a rule that says more (Rule.supersedes)


HUMAN_RESOLVE_REASONS = frozenset(
    r for r in ResolveReason if r not in (ResolveReason.CLEARED, ResolveReason.SUPERSEDED)
)


class TransitionKind(StrEnum):
    PENDING = "pending"  # condition started; waiting for the hold time
    CANCELLED = "cancelled"  # condition cleared before the hold time: never became an alert
    OPENED = "opened"
    UPDATED = "updated"  # new last/worst value or occurrence; no notification, no event
    SEVERITY_RAISED = "severity_raised"
    ESCALATED = "escalated"  # not acknowledged in time: one step up, coordinator told
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RECOVERING = "recovering"  # acknowledged alert's condition cleared; ack held for a while
    RELAPSED = "relapsed"  # condition came back during the recovery window; ack kept
    FLAPPING = "flapping"  # opened/cleared too often: notifications held
    SETTLED = "settled"  # flapping stopped; final state notified once
    RESOLVED = "resolved"


# Transition kinds that are recorded as audit events (UPDATED is only a row update).
EVENT_KINDS = frozenset(k for k in TransitionKind if k is not TransitionKind.UPDATED)


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """Everything storage keeps about one active alert, and what restores the engine."""

    rule_id: str
    subject: str
    status: AlertStatus
    severity: Severity
    since: datetime  # when the condition began (pending start)
    opened_at: datetime | None
    acknowledged_at: datetime | None
    first_value: Value
    last_value: Value
    worst_value: Value
    last_seen_at: datetime
    occurrences: int
    message: str
    team: str
    cleared_since: datetime | None = None
    escalation_level: int = 0
    flapping: bool = False
    subject_kind: str = "equipment"
    metric: str = ""

    @property
    def identity(self) -> tuple[str, str]:
        return (self.rule_id, self.subject)


@dataclass(frozen=True, slots=True)
class Transition:
    """One change to one alert. ``alert`` is the state after the change."""

    kind: TransitionKind
    alert: AlertSnapshot
    at: datetime
    previous: AlertStatus | None
    notify: bool
    actor: str = "system"
    comment: str = ""
    reason: ResolveReason | None = None

    @property
    def identity(self) -> tuple[str, str]:
        return self.alert.identity


class ActionRefused(Exception):
    """A person asked for something the alert's state doesn't allow (HTTP 409)."""
