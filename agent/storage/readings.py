"""Readings: the latest value per (subject, metric) and the history, written in batches through Core."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select
from sqlalchemy.orm import Session

from agent.storage.models import LatestReading, ReadingHistory
from rules.reading import Reading

# A copy of a stored observation (same subject, metric and ts: an MQTT redelivery after a
# crash, a replayed backlog) is skipped, not stored twice (migration 0003).
_HISTORY_SQL = (
    "INSERT INTO readings (subject, metric, value_num, value_text, unit, source, ts) VALUES ({p}) "
    "ON CONFLICT (subject, metric, ts) DO NOTHING"
)
_LATEST_SQL = (
    "INSERT INTO readings_latest (subject, metric, subject_kind, value_num, value_text, unit, source, ts) "
    "VALUES ({p}) ON CONFLICT (subject, metric) DO UPDATE SET value_num = excluded.value_num, "
    "value_text = excluded.value_text, unit = excluded.unit, source = excluded.source, ts = excluded.ts, "
    "subject_kind = excluded.subject_kind WHERE readings_latest.ts <= excluded.ts"
)
_STATEMENTS = {
    "sqlite": (_HISTORY_SQL.format(p=",".join("?" * 7)), _LATEST_SQL.format(p=",".join("?" * 8))),
    "postgresql": (_HISTORY_SQL.format(p=",".join(["%s"] * 7)), _LATEST_SQL.format(p=",".join(["%s"] * 8))),
}


def _sqlite_ts(ts: datetime) -> str:
    # The exact text SQLAlchemy's SQLite DateTime stores and parses back (UTC, naive).
    if ts.tzinfo is not UTC:  # collectors already give UTC: skip the conversion (a hot path)
        ts = ts.astimezone(UTC)
    return ts.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


SOURCE_WIDTH = 60  # readings.source and readings_latest.source


def write_readings(conn: Connection | Session, readings: Sequence[Reading]) -> None:
    """Append history and move the latest value forward (never backward) in the caller's transaction.

    This is the hot write path, so it goes straight to the driver's executemany with plain tuples:
    SQLAlchemy's per-row parameter processing costs more than the insert itself (ADR 0003).
    """
    if not readings:
        return
    connection = conn.connection() if isinstance(conn, Session) else conn
    dialect = connection.dialect.name
    history_sql, latest_sql = _STATEMENTS["sqlite" if dialect == "sqlite" else "postgresql"]
    stamp = _sqlite_ts if dialect == "sqlite" else (lambda ts: ts)
    history = []
    newest: dict[tuple[str, str], tuple[Any, ...]] = {}
    for r in readings:
        value = r.value
        number = value if type(value) is float else None
        state = None if number is not None else value
        ts = stamp(r.ts)
        source = r.source[:SOURCE_WIDTH]  # "mqtt:<topic>" can be longer; it only says where from
        history.append((r.subject, r.metric, number, state, r.unit, source, ts))
        key = (r.subject, r.metric)
        held = newest.get(key)
        if held is None or held[-1] <= ts:
            newest[key] = (r.subject, r.metric, r.subject_kind, number, state, r.unit, source, ts)
    connection.exec_driver_sql(history_sql, history)
    connection.exec_driver_sql(latest_sql, list(newest.values()))


def latest_value(row: LatestReading) -> float | str | None:
    return row.value_num if row.value_num is not None else row.value_text


def load_latest(session: Session, subject: str | None = None) -> list[LatestReading]:
    query = select(LatestReading)
    if subject is not None:
        query = query.where(LatestReading.subject == subject)
    return list(session.scalars(query))


def prune_history(
    session: Session,
    *,
    older_than: datetime,
    batch: int = 10_000,
    keep_subjects: Collection[str] = (),
    keep_older_than: datetime | None = None,
) -> int:
    """Delete history older than the retention, in chunks so a big prune doesn't hold the writer long.

    Readings of `keep_subjects` (cold-chain units: an inspector asks for three years) are kept
    until `keep_older_than` instead."""
    total = _prune(session, ReadingHistory.ts < older_than, keep_subjects, batch)
    if keep_subjects and keep_older_than is not None:
        total += _prune(
            session, and_(ReadingHistory.ts < keep_older_than, ReadingHistory.subject.in_(list(keep_subjects))), (), batch
        )
    return total


def _prune(session: Session, condition: Any, skip: Collection[str], batch: int) -> int:
    if skip:
        condition = and_(condition, ReadingHistory.subject.not_in(list(skip)))
    total = 0
    while True:
        ids = list(session.scalars(select(ReadingHistory.id).where(condition).limit(batch)))
        if not ids:
            return total
        session.execute(delete(ReadingHistory).where(ReadingHistory.id.in_(ids)))
        session.commit()
        total += len(ids)
