"""Readings: the latest value per (subject, metric) and the history, written in batches through Core."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agent.storage.models import LatestReading, ReadingHistory
from rules.reading import Reading

_HISTORY = ReadingHistory.__table__
_LATEST = LatestReading.__table__


def _row(reading: Reading) -> dict[str, Any]:
    value = reading.value
    is_num = type(value) is float
    return {
        "subject": reading.subject,
        "metric": reading.metric,
        "value_num": value if is_num else None,
        "value_text": None if is_num else value,
        "unit": reading.unit,
        "source": reading.source,
        "ts": reading.ts,
    }


def write_readings(conn: Connection | Session, readings: Sequence[Reading]) -> None:
    """Append history and move the latest value forward (never backward) in the caller's transaction."""
    if not readings:
        return
    rows = [_row(r) for r in readings]
    conn.execute(insert(_HISTORY), rows)
    newest: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    for reading, row in zip(readings, rows, strict=True):
        key = (reading.subject, reading.metric)
        held = newest.get(key)
        if held is None or held[0]["ts"] <= row["ts"]:
            newest[key] = (row, reading.subject_kind)
    latest_rows = [{**row, "subject_kind": kind} for row, kind in newest.values()]
    dialect = conn.get_bind().dialect.name if isinstance(conn, Session) else conn.dialect.name
    stmt = (postgresql.insert(_LATEST) if dialect == "postgresql" else sqlite.insert(_LATEST))
    stmt = stmt.on_conflict_do_update(
        index_elements=[_LATEST.c.subject, _LATEST.c.metric],
        set_={
            "value_num": stmt.excluded.value_num,
            "value_text": stmt.excluded.value_text,
            "unit": stmt.excluded.unit,
            "source": stmt.excluded.source,
            "ts": stmt.excluded.ts,
            "subject_kind": stmt.excluded.subject_kind,
        },
        where=_LATEST.c.ts <= stmt.excluded.ts,
    )
    conn.execute(stmt, latest_rows)


def latest_value(row: LatestReading) -> float | str | None:
    return row.value_num if row.value_num is not None else row.value_text


def load_latest(session: Session, subject: str | None = None) -> list[LatestReading]:
    query = select(LatestReading)
    if subject is not None:
        query = query.where(LatestReading.subject == subject)
    return list(session.scalars(query))


def prune_history(session: Session, *, older_than: datetime, batch: int = 10_000) -> int:
    """Delete history older than the retention, in chunks so a big prune doesn't hold the writer long."""
    total = 0
    while True:
        ids = list(session.scalars(select(ReadingHistory.id).where(ReadingHistory.ts < older_than).limit(batch)))
        if not ids:
            return total
        session.execute(delete(ReadingHistory).where(ReadingHistory.id.in_(ids)))
        session.commit()
        total += len(ids)
