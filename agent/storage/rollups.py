"""Hourly rollups of numeric readings (readings_hourly), rebuilt from `readings` for whole hours.

Rebuilding an hour from the history (rather than adding each reading as it is written) keeps
the hot write path as it was, and a redelivered or late reading can't be counted twice: the
history holds each observation once. The job rolls up every whole hour since the last one it
did; hours that receive late readings afterwards (a backlog) are marked and rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from agent.storage.models import ReadingHourly
from rules.reading import Reading

HOUR = timedelta(hours=1)
_HOUR_EXPR = {
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): the hour is a prefix of that text.
    "sqlite": "substr(ts, 1, 13) || ':00:00.000000'",
    "postgresql": "date_trunc('hour', ts)",
}
_INSERT = (
    "INSERT INTO readings_hourly (subject, metric, hour, min, max, sum, count) "
    "SELECT subject, metric, {hour} AS h, MIN(value_num), MAX(value_num), SUM(value_num), COUNT(*) FROM readings "
    "WHERE ts >= :start AND ts < :end AND value_num IS NOT NULL GROUP BY subject, metric, h"
)


def floor_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _bind(session: Session, ts: datetime) -> object:
    if session.get_bind().dialect.name == "sqlite":
        return ts.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return ts


def rebuild(session: Session, start: datetime, end: datetime) -> None:
    """Recompute the rollups of the whole hours in [start, end) (both on the hour)."""
    dialect = "sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"
    params = {"start": _bind(session, start), "end": _bind(session, end)}
    session.execute(text("DELETE FROM readings_hourly WHERE hour >= :start AND hour < :end"), params)
    session.execute(text(_INSERT.format(hour=_HOUR_EXPR[dialect])), params)


def rolled_until(session: Session) -> datetime | None:
    """The end of the last hour rolled up (None: nothing yet)."""
    last = session.scalar(select(func.max(ReadingHourly.hour)))
    return None if last is None else last + HOUR


def roll_up(session: Session, *, now: datetime, dirty: Iterable[datetime] = (), chunk: timedelta = timedelta(days=1)) -> int:
    """Roll up every whole hour before `now` not yet done, and the `dirty` hours again.
    Commits per chunk so a first run over a long history doesn't hold the writer. Returns hours done."""
    end = floor_hour(now)
    start = rolled_until(session)
    if start is None:
        first = session.scalar(text("SELECT MIN(ts) FROM readings"))
        if first is None:
            return 0
        start = floor_hour(datetime.fromisoformat(first) if isinstance(first, str) else first)
    done = 0
    while start < end:
        stop = min(start + chunk, end)
        rebuild(session, start, stop)
        session.commit()
        done += int((stop - start) / HOUR)
        start = stop
    for hour in sorted(set(dirty)):
        if hour < end:
            rebuild(session, hour, hour + HOUR)
            done += 1
    session.commit()
    return done


class LateHours:
    """A pipeline ReadingHook that notes hours already rolled up that receive readings late."""

    def __init__(self) -> None:
        self.watermark: datetime | None = None
        self.hours: set[datetime] = set()

    def __call__(self, session: Session, readings: Sequence[Reading]) -> Sequence[Reading]:
        mark = self.watermark
        if mark is not None:
            for r in readings:
                if r.ts < mark:
                    self.hours.add(floor_hour(r.ts))
        return ()

    def take(self) -> set[datetime]:
        taken, self.hours = self.hours, set()
        return taken
