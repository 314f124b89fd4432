"""Silences: maintenance windows during which matching alerts are not notified.

A silence names at least one of equipment, rule or team, and a window. The notifier asks
``active_silences`` before sending; alerts are still recorded while silenced.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.services.errors import Invalid, NotFound
from agent.storage.models import Equipment, Silence
from rules.views import SilenceView

Sessions = sessionmaker[Session]

MAX_SILENCE = timedelta(days=30)


def _view(row: Silence) -> SilenceView:
    return SilenceView(
        id=row.id,
        equipment_id=row.equipment_id,
        rule_id=row.rule_id,
        team=row.team,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        comment=row.comment,
        created_by=row.created_by,
        created_at=row.created_at,
        ended_by=row.ended_by,
    )


def create_silence(
    sessions: Sessions,
    *,
    actor: str,
    comment: str,
    now: datetime,
    ends_at: datetime,
    starts_at: datetime | None = None,
    equipment_id: str | None = None,
    rule_id: str | None = None,
    team: str | None = None,
) -> SilenceView:
    if not (equipment_id or rule_id or team):
        raise Invalid("equipment_id", "say what to silence: equipment_id, rule_id or team")
    if not comment.strip():
        raise Invalid("comment", "say why (e.g. 'fridge 2 defrost, back at 14:00')")
    start = starts_at or now
    if ends_at.tzinfo is None or start.tzinfo is None:
        raise Invalid("ends_at", "give times with a time zone, e.g. 2026-11-27T14:00:00Z")
    if ends_at <= start:
        raise Invalid("ends_at", "the silence must end after it starts")
    if ends_at <= now:
        raise Invalid("ends_at", "the silence would already be over")
    if ends_at - start > MAX_SILENCE:
        raise Invalid("ends_at", "a silence can last at most 30 days")
    with sessions() as session:
        if equipment_id and session.get(Equipment, equipment_id) is None:
            raise NotFound(f"equipment {equipment_id!r} not found")
        row = Silence(
            equipment_id=equipment_id or None,
            rule_id=rule_id or None,
            team=team or None,
            starts_at=start,
            ends_at=ends_at,
            comment=comment.strip(),
            created_by=actor,
            created_at=now,
        )
        session.add(row)
        session.commit()
        return _view(row)


def active_silences(sessions: Sessions, *, now: datetime) -> list[SilenceView]:
    with sessions() as session:
        rows = session.scalars(
            select(Silence).where(Silence.ends_at > now, Silence.starts_at <= now).order_by(Silence.ends_at)
        ).all()
        return [_view(r) for r in rows]


def list_silences(sessions: Sessions, *, now: datetime, include_expired: bool = False) -> list[SilenceView]:
    query = select(Silence).order_by(Silence.ends_at.desc())
    if not include_expired:
        query = query.where(Silence.ends_at > now)
    with sessions() as session:
        return [_view(r) for r in session.scalars(query.limit(500))]


def end_silence(sessions: Sessions, *, silence_id: int, now: datetime, actor: str | None = None) -> SilenceView:
    """End a silence now (kept as history, with who ended it)."""
    with sessions() as session:
        row = session.get(Silence, silence_id)
        if row is None:
            raise NotFound(f"silence {silence_id} not found")
        if row.ends_at > now:
            row.ends_at = max(now, row.starts_at)
            row.ended_by = actor
            session.commit()
        return _view(row)


def is_silenced(silences: list[SilenceView], *, equipment_id: str, rule_id: str, team: str) -> bool:
    """True when an active silence covers this alert (every field the silence names must match)."""
    for s in silences:
        if s.equipment_id and s.equipment_id != equipment_id:
            continue
        if s.rule_id and s.rule_id != rule_id:
            continue
        if s.team and s.team != team:
            continue
        return True
    return False
