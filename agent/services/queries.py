"""Read-side service functions: alerts, their events, the coordinator's queue and the equipment board.

Every function opens its own short session, pages its lists and returns plain rules.views values.
Keyword-only, like every service function.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, literal_column, or_, select, text
from sqlalchemy.orm import Session, aliased, sessionmaker

from agent.services.errors import Invalid, NotFound
from agent.storage.models import Alert, AlertEvent, Equipment, SupplyItem
from rules.alerts import AlertStatus
from rules.severity import Severity
from rules.views import (
    AlertEventView,
    AlertPage,
    AlertView,
    LowSupply,
    QueueView,
    event_text,
    low_supply_text,
    summary,
)

Sessions = sessionmaker[Session]

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
QUEUE_STATUSES = (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value)
ACTIVE_STATUSES = (AlertStatus.PENDING.value, *QUEUE_STATUSES)
STATE_FILTERS = {s.value for s in AlertStatus} | {"active"}
# The queue's predicate, literal (not bound) and written exactly like the WHERE of the partial
# indexes ix_alerts_queue* (migration 0002) so both planners use them. On SQLite the unary +
# keeps the planner off the plain status index (it would sort every open alert).
_IN_QUEUE = {
    "sqlite": text("+alerts.status IN ('open', 'acknowledged')"),
    "postgresql": text("alerts.status IN ('open', 'acknowledged')"),
}


def _in_queue(sessions: Sessions) -> Any:
    return _IN_QUEUE.get(_dialect(sessions), Alert.status.in_(QUEUE_STATUSES))

_EquipmentSubject = aliased(Equipment, name="eq_subject")
_SupplySubject = aliased(SupplyItem, name="supply_subject")


# ---------------------------------------------------------------------- cursors


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, shape: Sequence[type]) -> list[Any]:
    """Opaque to clients; a cursor that doesn't decode to the expected shape is a 422 on 'cursor'."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid("cursor", "the cursor is not one this server gave out; start again without it") from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise Invalid("cursor", "the cursor is not one this server gave out; start again without it")
    for value, kind in zip(values, shape, strict=True):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise Invalid("cursor", "the cursor is not one this server gave out; start again without it")
    return values


def _connect(sessions: Sessions) -> Any:
    """A plain connection for a read-only Core query (lighter than an ORM session)."""
    bind = sessions.kw.get("bind")
    return bind.connect() if bind is not None else sessions()


def _dialect(sessions: Sessions) -> str:
    bind = sessions.kw.get("bind")
    return bind.dialect.name if bind is not None else ""


def _limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise Invalid("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


# ---------------------------------------------------------------------- alerts


_ALERT_COLUMNS = tuple(Alert.__table__.columns)


@functools.cache
def _alert_select() -> Any:
    """Alerts with their subject's name and location, as plain rows (Core: the ORM's per-row
    bookkeeping costs more than the query on a page of 50). Built once: statements are immutable."""
    return (
        select(
            *_ALERT_COLUMNS,
            _EquipmentSubject.name.label("eq_name"),
            _EquipmentSubject.location.label("eq_location"),
            _SupplySubject.name.label("supply_name"),
            _SupplySubject.location.label("supply_location"),
        )
        .select_from(Alert)
        .outerjoin(
            _EquipmentSubject,
            and_(_EquipmentSubject.id == Alert.subject, Alert.subject_kind == "equipment"),
        )
        .outerjoin(_SupplySubject, and_(_SupplySubject.sku == Alert.subject, Alert.subject_kind == "supply"))
    )


def _view(row: Row[Any], now: datetime) -> AlertView:
    name = row.eq_name or row.supply_name or row.subject
    location = row.eq_location or row.supply_location or ""
    return alert_view(row, now=now, subject_name=name, location=location)


def alert_view(alert: Any, *, now: datetime, subject_name: str = "", location: str = "") -> AlertView:
    started = alert.opened_at or alert.since
    return AlertView(
        id=alert.id,
        rule_id=alert.rule_id,
        subject=alert.subject,
        subject_kind=alert.subject_kind,
        subject_name=subject_name or alert.subject,
        location=location,
        status=alert.status,
        severity=Severity(alert.severity).label,
        team=alert.team,
        message=alert.message,
        summary=summary(alert.message, status=alert.status, since=started, now=now, resolved_at=alert.resolved_at),
        since=alert.since,
        opened_at=alert.opened_at,
        acknowledged_at=alert.acknowledged_at,
        acknowledged_by=alert.acknowledged_by,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
        resolve_reason=alert.resolve_reason,
        assignee=alert.assignee,
        first_value=_value(alert.first_value),
        last_value=_value(alert.last_value),
        worst_value=_value(alert.worst_value),
        last_seen_at=alert.last_seen_at,
        occurrences=alert.occurrences,
        escalation_level=alert.escalation_level,
        flapping=alert.flapping,
        updated_at=alert.updated_at,
        version=alert.version,
    )


def _value(value: Any) -> float | str | None:
    """JSON gives 4.0 back as 4; readings are float or text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return str(value)


def _severity_value(severity: str) -> int:
    try:
        return int(Severity.parse(severity))
    except ValueError as exc:
        raise Invalid("severity", str(exc)) from None


def list_alerts(
    sessions: Sessions,
    *,
    now: datetime,
    state: str | None = None,
    severity: str | None = None,
    team: str | None = None,
    equipment: str | None = None,
    sku: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AlertPage:
    """Alerts newest first, filtered; ``next_cursor`` continues after the last one."""
    limit = _limit(limit)
    query = _alert_select()
    if state is not None:
        if state not in STATE_FILTERS:
            raise Invalid("state", f"state must be one of: {', '.join(sorted(STATE_FILTERS))}")
        wanted = ACTIVE_STATUSES if state == "active" else (state,)
        # Newest first is a backward walk of the primary key that stops after one page. SQLite
        # would rather use the status index and sort thousands of rows; the unary + on SQLite
        # keeps it off that index.
        status = literal_column("+alerts.status") if _dialect(sessions) == "sqlite" else Alert.status
        query = query.where(status.in_(wanted))
    if severity is not None:
        query = query.where(Alert.severity == _severity_value(severity))
    if team is not None:
        query = query.where(Alert.team == team)
    if equipment is not None:
        query = query.where(Alert.subject == equipment, Alert.subject_kind == "equipment")
    if sku is not None:
        query = query.where(Alert.subject == sku, Alert.subject_kind == "supply")
    if cursor:
        (last_id,) = decode_cursor(cursor, (int,))
        query = query.where(Alert.id < last_id)
    query = query.order_by(Alert.id.desc()).limit(limit + 1)
    with _connect(sessions) as conn:
        rows = conn.execute(query).all()
    items = [_view(row, now) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].id]) if len(rows) > limit else None
    return AlertPage(items=items, next_cursor=next_cursor)


def get_alert(sessions: Sessions, *, alert_id: int, now: datetime) -> AlertView:
    with sessions() as session:
        row = session.execute(_alert_select().where(Alert.id == alert_id)).first()
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    return _view(row, now)


def alert_events(sessions: Sessions, *, alert_id: int, after: int = 0, limit: int = 500) -> list[AlertEventView]:
    """The alert's history, oldest first: up to ``limit`` events with ids above ``after``."""
    with sessions() as session:
        if session.get(Alert, alert_id) is None:
            raise NotFound(f"alert {alert_id} not found")
        rows = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id, AlertEvent.id > after).order_by(AlertEvent.id).limit(limit)).all()
    return [
        AlertEventView(
            id=e.id,
            alert_id=e.alert_id,
            at=e.at,
            kind=e.kind,
            actor=e.actor,
            comment=e.comment,
            from_status=e.from_status,
            to_status=e.to_status,
            severity=Severity(e.severity).label,
            value=_value(e.value),
            details=dict(e.details or {}),
            text=event_text(e.kind, e.actor, dict(e.details or {})),
        )
        for e in rows
    ]


# ---------------------------------------------------------------------- the queue


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """The queue's counts and low-supply panel: the same for every page, so callers may cache it."""

    groups: tuple[tuple[str, int, str, int], ...]  # (team, severity, status, count)
    low_supplies: list[LowSupply]
    low_supply_count: int


def queue_summary(sessions: Sessions, *, low_supply_limit: int = 10) -> QueueSummary:
    """Open alerts counted by team, severity and status (one index-only scan), and low supplies."""
    counts_query = (
        select(Alert.team, Alert.severity, Alert.status, func.count())
        .where(_in_queue(sessions))
        .group_by(Alert.team, Alert.severity, Alert.status)
    )
    with sessions() as session:
        groups = tuple((t, int(sev), st, int(n)) for t, sev, st, n in session.execute(counts_query))
        low, low_count = _low_supplies(session, low_supply_limit)
    return QueueSummary(groups=groups, low_supplies=low, low_supply_count=low_count)


def queue(
    sessions: Sessions,
    *,
    now: datetime,
    team: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    summary_of: QueueSummary | None = None,
) -> QueueView:
    """Open and acknowledged alerts, most severe first, then oldest first; one page plus counts.

    The page is a keyset scan of the partial index ix_alerts_queue (or ix_alerts_queue_team), so
    its cost does not grow with the number of open alerts. Pass ``summary_of`` to reuse counts.
    """
    limit = _limit(limit)
    query = _alert_select().where(_in_queue(sessions))
    if team:
        query = query.where(Alert.team == team)
    if cursor:
        severity, opened_iso, last_id = decode_cursor(cursor, (int, str, int))
        try:
            opened = datetime.fromisoformat(opened_iso)
        except ValueError:
            raise Invalid("cursor", "the cursor is not one this server gave out; start again without it") from None
        if opened.tzinfo is None:
            raise Invalid("cursor", "the cursor is not one this server gave out; start again without it")
        query = query.where(
            or_(
                Alert.severity < severity,
                and_(Alert.severity == severity, Alert.opened_at > opened),
                and_(Alert.severity == severity, Alert.opened_at == opened, Alert.id > last_id),
            )
        )
    query = query.order_by(Alert.severity.desc(), Alert.opened_at.asc(), Alert.id.asc()).limit(limit + 1)
    with _connect(sessions) as conn:
        rows = conn.execute(query).all()
    info = summary_of if summary_of is not None else queue_summary(sessions)
    items = [_view(row, now) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        started = last.opened_at or last.since
        next_cursor = encode_cursor([last.severity, started.isoformat(), last.id])
    by_severity = {s.label: 0 for s in sorted(Severity, reverse=True)}
    acknowledged = 0
    teams: set[str] = set()
    for group_team, severity, status, count in info.groups:
        if group_team:
            teams.add(group_team)
        if team and group_team != team:
            continue
        by_severity[Severity(severity).label] += count
        if status == AlertStatus.ACKNOWLEDGED.value:
            acknowledged += count
    return QueueView(
        items=items,
        next_cursor=next_cursor,
        total_open=sum(by_severity.values()),
        by_severity=by_severity,
        acknowledged=acknowledged,
        low_supplies=info.low_supplies,
        low_supply_count=info.low_supply_count,
        teams=sorted(teams),
        generated_at=now,
    )


def _low_supplies(session: Session, limit: int) -> tuple[list[LowSupply], int]:
    is_low = and_(SupplyItem.on_hand.is_not(None), SupplyItem.on_hand <= SupplyItem.reorder_point)
    count = session.execute(select(func.count()).select_from(SupplyItem).where(is_low)).scalar_one()
    # Emptiest first, relative to the reorder point.
    ratio = SupplyItem.on_hand / func.nullif(SupplyItem.reorder_point, 0)
    rows = session.scalars(select(SupplyItem).where(is_low).order_by(ratio.asc(), SupplyItem.sku).limit(limit)).all()
    out = []
    for item in rows:
        days = None
        if item.on_hand is not None and item.daily_use:
            days = round(item.on_hand / item.daily_use, 1)
        out.append(
            LowSupply(
                sku=item.sku,
                name=item.name,
                location=item.location,
                unit=item.unit,
                on_hand=item.on_hand,
                reorder_point=item.reorder_point,
                par=item.par,
                on_order=item.on_order,
                days_of_supply=days,
                text=low_supply_text(item.name, item.location, item.on_hand, item.reorder_point, item.unit),
            )
        )
    return out, int(count)
