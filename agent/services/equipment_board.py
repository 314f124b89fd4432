"""The equipment board: every item with its state, last seen time and key values (split from queries.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.services.errors import NotFound
from agent.services.queries import Sessions, _alert_select, _in_queue, _view
from agent.storage.models import Alert, Equipment, LatestReading
from rules.severity import Severity
from rules.views import EquipmentView, KeyValue, metric_label, unit_for, value_text

# ---------------------------------------------------------------------- equipment

# Key values people look for first on the board, in this order; others follow alphabetically.
_KEY_METRICS = (
    "temperature_c",
    "ups.status",
    "ups.battery.charge_pct",
    "ups.runtime_min",
    "toner.black.pct",
    "toner.cyan.pct",
    "toner.magenta.pct",
    "toner.yellow.pct",
    "humidity_pct",
    "status",
)
MAX_KEY_VALUES = 6


def _key_values(rows: Sequence[LatestReading]) -> list[KeyValue]:
    def order(row: LatestReading) -> tuple[int, str]:
        try:
            return (_KEY_METRICS.index(row.metric), row.metric)
        except ValueError:
            return (len(_KEY_METRICS), row.metric)

    values = []
    for row in sorted(rows, key=order)[:MAX_KEY_VALUES]:
        value = row.value_num if row.value_num is not None else row.value_text
        unit = unit_for(row.metric, row.unit)
        values.append(
            KeyValue(
                metric=row.metric,
                label=metric_label(row.metric),
                value=value,
                unit=unit,
                text=value_text(value, unit),
                at=row.ts,
            )
        )
    return values


def _state(
    worst: int | None, count: int, last_seen: datetime | None, now: datetime, stale_after: timedelta
) -> tuple[str, str]:
    from rules.durations import format_duration

    if worst is not None and count:
        label = Severity(worst).label
        plural = "s" if count != 1 else ""
        return label, f"{count} open alert{plural}"
    if last_seen is None:
        return "unknown", "Not heard from yet"
    if now - last_seen > stale_after:
        return "stale", f"Not heard from for {format_duration(now - last_seen)}"
    return "ok", "OK"


def _equipment_views(
    sessions: Sessions,
    session: Session,
    equipment: Sequence[Equipment],
    *,
    now: datetime,
    stale_after: timedelta,
    only: str | None = None,
) -> list[EquipmentView]:
    latest_q = select(LatestReading).where(LatestReading.subject_kind == "equipment")
    alerts_q = (
        select(Alert.subject, func.max(Alert.severity), func.count())
        .where(_in_queue(sessions), Alert.subject_kind == "equipment")
        .group_by(Alert.subject)
    )
    if only is not None:
        latest_q = latest_q.where(LatestReading.subject == only)
        alerts_q = alerts_q.where(Alert.subject == only)
    readings: dict[str, list[LatestReading]] = defaultdict(list)
    for row in session.scalars(latest_q):
        readings[row.subject].append(row)
    active = {subject: (worst, count) for subject, worst, count in session.execute(alerts_q)}
    views = []
    for item in equipment:
        rows = readings.get(item.id, [])
        last_seen = max((r.ts for r in rows), default=None)
        worst, count = active.get(item.id, (None, 0))
        state, state_text = _state(worst, count, last_seen, now, stale_after)
        if item.retired_at is not None:
            state, state_text = "retired", "Retired: no longer in the config"
        views.append(
            EquipmentView(
                id=item.id,
                name=item.name,
                kind=item.kind,
                location=item.location,
                team=item.team,
                model=item.model,
                state=state,
                state_text=state_text,
                last_seen=last_seen,
                key_values=_key_values(rows),
                open_alerts=count,
                retired_at=item.retired_at,
            )
        )
    return views


def list_equipment(
    sessions: Sessions,
    *,
    now: datetime,
    location: str | None = None,
    kind: str | None = None,
    team: str | None = None,
    stale_after: timedelta = timedelta(minutes=15),
) -> list[EquipmentView]:
    """Every piece of equipment with its state, when it was last seen and its key values."""
    # Retired items last: still listed, since their alerts and history stay.
    query = select(Equipment).order_by(
        Equipment.retired_at.is_not(None), Equipment.location, Equipment.name, Equipment.id
    )
    if location is not None:
        query = query.where(Equipment.location == location)
    if kind is not None:
        query = query.where(Equipment.kind == kind)
    if team is not None:
        query = query.where(Equipment.team == team)
    with sessions() as session:
        equipment = session.scalars(query).all()
        return _equipment_views(sessions, session, equipment, now=now, stale_after=stale_after)


def get_equipment(
    sessions: Sessions,
    *,
    equipment_id: str,
    now: datetime,
    stale_after: timedelta = timedelta(minutes=15),
    recent_alerts: int = 20,
) -> EquipmentView:
    """One piece of equipment, with its active and recent alerts."""
    with sessions() as session:
        item = session.get(Equipment, equipment_id)
        if item is None:
            raise NotFound(f"equipment {equipment_id!r} not found")
        (view,) = _equipment_views(sessions, session, [item], now=now, stale_after=stale_after, only=equipment_id)
        rows = session.execute(
            _alert_select()
            .where(Alert.subject == equipment_id, Alert.subject_kind == "equipment")
            .order_by(Alert.id.desc())
            .limit(recent_alerts)
        ).all()
    alerts = [_view(row, now) for row in rows]
    return EquipmentView(**{**_fields(view), "alerts": alerts})


def _fields(view: EquipmentView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}
