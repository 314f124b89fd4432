"""Alerts and their events: apply the engine's transitions, and read alerts back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from agent.storage.models import Alert, AlertEvent
from rules.alerts import EVENT_KINDS, AlertSnapshot, AlertStatus, ResolveReason, Transition, TransitionKind
from rules.messages import format_value
from rules.severity import Severity
from rules.views import unit_for


@dataclass(frozen=True, slots=True)
class AppliedTransition:
    """A transition as stored: with the alert's id, for notifications and the live feed."""

    alert_id: int
    transition: Transition
    event_id: int | None


def _fields(snap: AlertSnapshot) -> dict[str, Any]:
    return {
        "status": snap.status.value,
        "severity": int(snap.severity),
        "team": snap.team,
        "message": snap.message,
        "since": snap.since,
        "opened_at": snap.opened_at,
        "acknowledged_at": snap.acknowledged_at,
        "first_value": snap.first_value,
        "last_value": snap.last_value,
        "worst_value": snap.worst_value,
        "last_seen_at": snap.last_seen_at,
        "occurrences": snap.occurrences,
        "escalation_level": snap.escalation_level,
        "flapping": snap.flapping,
        "cleared_since": snap.cleared_since,
        "metric": snap.metric,
    }


class AlertStore:
    """Keeps the identity → id map of active alerts so the hot path doesn't query for it."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        # Run in the same transaction, after the changes: the notification outbox (ADR 0012).
        self.on_applied: list[Callable[[Session, list[AppliedTransition]], None]] = []

    def load_active(self, session: Session) -> list[AlertSnapshot]:
        rows = session.scalars(select(Alert).where(Alert.status != AlertStatus.RESOLVED.value)).all()
        self._ids = {(row.rule_id, row.subject): row.id for row in rows}
        return [snapshot_of(row) for row in rows]

    def id_of(self, identity: tuple[str, str]) -> int | None:
        return self._ids.get(identity)

    def apply(self, session: Session, transitions: Iterable[Transition]) -> list[AppliedTransition]:
        applied: list[AppliedTransition] = []
        for transition in transitions:
            result = self._apply_one(session, transition)
            if result is not None:
                applied.append(result)
        for hook in self.on_applied:
            if applied:
                hook(session, applied)
        return applied

    def _apply_one(self, session: Session, t: Transition) -> AppliedTransition | None:
        snap = t.alert
        identity = snap.identity
        alert_id = self._ids.get(identity)
        reopened_from = None
        fields = _fields(snap)
        fields["updated_at"] = t.at
        if alert_id is None:
            if t.kind is TransitionKind.SETTLED:
                return None  # settled after resolution: notify only, nothing to store
            if t.kind not in (TransitionKind.PENDING, TransitionKind.OPENED):
                return None  # an update for an alert storage never saw; nothing to attach it to
            alert_id = session.execute(
                insert(Alert)
                .values(rule_id=snap.rule_id, subject=snap.subject, subject_kind=snap.subject_kind, version=1, **fields)
                .returning(Alert.id)
            ).scalar_one()
            self._ids[identity] = alert_id
        elif t.kind is TransitionKind.CANCELLED:
            session.execute(delete(AlertEvent).where(AlertEvent.alert_id == alert_id))
            session.execute(delete(Alert).where(Alert.id == alert_id))
            del self._ids[identity]
            return AppliedTransition(alert_id, t, None)
        else:
            if t.kind is TransitionKind.ACKNOWLEDGED:
                fields["acknowledged_by"] = t.actor
            elif t.kind is TransitionKind.UNACKNOWLEDGED:
                fields["acknowledged_by"] = None
            elif t.kind is TransitionKind.RESOLVED:
                fields["resolved_at"] = t.at
                fields["resolved_by"] = t.actor
                fields["resolve_reason"] = t.reason.value if t.reason else None
                del self._ids[identity]
            session.execute(update(Alert).where(Alert.id == alert_id).values(version=Alert.version + 1, **fields))
        if t.kind is TransitionKind.OPENED:
            reopened_from = _link_reopened(session, snap, alert_id, t.at)
        event_id = None
        if t.kind in EVENT_KINDS:
            event_id = add_event(
                session,
                alert_id=alert_id,
                kind=t.kind.value,
                at=t.at,
                actor=t.actor,
                comment=t.comment,
                from_status=t.previous.value if t.previous else None,
                to_status=snap.status.value,
                severity=int(snap.severity),
                value=snap.last_value,
                details=_event_details(t) | ({"reopened_from": reopened_from} if reopened_from else {}),
            )
        return AppliedTransition(alert_id, t, event_id)


def _event_details(t: Transition) -> dict[str, Any]:
    if t.reason is None:
        return {}
    details: dict[str, Any] = {"reason": t.reason.value}
    if t.reason is ResolveReason.CLEARED and t.alert.last_value is not None:
        # The value that cleared it is the resolution; the alert keeps its opening message.
        details["cleared_value"] = format_value(t.alert.last_value, unit_for(t.alert.metric, ""))
    return details


REOPEN_WINDOW = timedelta(hours=1)


def _link_reopened(session: Session, snap: AlertSnapshot, alert_id: int, at: datetime) -> int | None:
    """A person resolved this identity's last alert a moment ago while it still held: the new
    alert is that one coming back. Link both ways (events), so nobody thinks the work was lost."""
    last = session.execute(
        select(Alert.id, Alert.resolved_at, Alert.resolved_by)
        .where(Alert.rule_id == snap.rule_id, Alert.subject == snap.subject, Alert.id != alert_id)
        .where(Alert.status == AlertStatus.RESOLVED.value)
        .order_by(Alert.id.desc())
        .limit(1)
    ).first()
    if last is None or last.resolved_at is None or last.resolved_by in (None, "system"):
        return None  # none before, or it cleared on its own: this is a new episode
    if at - last.resolved_at > REOPEN_WINDOW:
        return None
    add_event(
        session, alert_id=last.id, at=at, kind="reopened", actor="system", comment="", from_status="resolved",
        to_status="resolved", severity=int(snap.severity), value=snap.last_value, details={"reopened_as": alert_id},
    )
    return int(last.id)


def add_event(session: Session, **values: Any) -> int:
    return int(session.execute(insert(AlertEvent).values(**values).returning(AlertEvent.id)).scalar_one())


def snapshot_of(row: Alert) -> AlertSnapshot:
    return AlertSnapshot(
        rule_id=row.rule_id,
        subject=row.subject,
        status=AlertStatus(row.status),
        severity=Severity(row.severity),
        since=row.since,
        opened_at=row.opened_at,
        acknowledged_at=row.acknowledged_at,
        first_value=row.first_value,
        last_value=row.last_value,
        worst_value=row.worst_value,
        last_seen_at=row.last_seen_at,
        occurrences=row.occurrences,
        message=row.message,
        team=row.team,
        cleared_since=row.cleared_since,
        escalation_level=row.escalation_level,
        flapping=row.flapping,
        subject_kind=row.subject_kind,
        metric=row.metric,
    )


def events_of(session: Session, alert_id: int) -> Sequence[AlertEvent]:
    return session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)).all()
