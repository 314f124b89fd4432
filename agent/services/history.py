"""Reading history for charts and exports: downsampled in SQL (min, max and mean per bucket),
so 30 days of one-minute readings answer as at most a few hundred rows (issue 14)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from rules.history_views import DayRange, ReadingSeries, SeriesPoint

MAX_POINTS = 500
_NICE_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

# The bucket is the reading's epoch second divided by the step; both backends index the range
# scan on (subject, metric, ts) and aggregate in the database.
_BUCKET = {
    "sqlite": "CAST(strftime('%s', {col}) AS INTEGER) / :step",
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM {col}) / :step)::bigint",
}
_RAW_SQL = (
    "SELECT {bucket} AS b, MIN(value_num), MAX(value_num), SUM(value_num), COUNT(*) FROM readings "
    "WHERE subject = :subject AND metric = :metric AND ts >= :start AND ts < :end AND value_num IS NOT NULL "
    "GROUP BY b"
)
_HOURLY_SQL = (
    "SELECT {bucket} AS b, MIN(min), MAX(max), SUM(sum), SUM(count) FROM readings_hourly "
    "WHERE subject = :subject AND metric = :metric AND hour >= :start AND hour < :end GROUP BY b"
)
_LAST_HOUR_SQL = "SELECT MAX(hour) FROM readings_hourly WHERE subject = :subject AND metric = :metric"
HOUR = timedelta(hours=1)
Agg = dict[int, tuple[float, float, float, int]]


def auto_step(start: datetime, end: datetime, max_points: int = MAX_POINTS) -> int:
    """The smallest round step (1 min, 5 min, ..., 1 day) that keeps the series within max_points."""
    need = (end - start).total_seconds() / max_points
    for step in _NICE_STEPS:
        if step >= need:
            return step
    return math.ceil(need / 86400) * 86400


def _bind_ts(session: Session, ts: datetime) -> object:
    if session.get_bind().dialect.name == "sqlite":
        return ts.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return ts


def series(
    session: Session, *, subject: str, metric: str, start: datetime, end: datetime, step: int | None = None, unit: str = ""
) -> ReadingSeries:
    """min, max and mean per bucket, computed in the database. Steps of whole hours read the hourly
    rollups (readings_hourly) for the hours rolled up, and the raw history only for the rest."""
    step = step or auto_step(start, end)
    dialect = "sqlite" if session.get_bind().dialect.name == "sqlite" else "postgresql"
    keys = {"step": step, "subject": subject, "metric": metric}
    buckets: Agg = {}
    raw_from = start
    if step % 3600 == 0:
        last = session.execute(text(_LAST_HOUR_SQL), keys).scalar()
        if last is not None:
            last = datetime.fromisoformat(last) if isinstance(last, str) else last
            last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
            first_hour = _ceil_hour(start)
            covered = min(last + HOUR, end)
            if covered > first_hour:
                sql = _HOURLY_SQL.format(bucket=_BUCKET[dialect].format(col="hour"))
                _merge(buckets, session, sql, {**keys, "start": _bind_ts(session, first_hour), "end": _bind_ts(session, covered)})
                if start < first_hour:  # the part of an hour before the first whole one
                    sql = _RAW_SQL.format(bucket=_BUCKET[dialect].format(col="ts"))
                    _merge(buckets, session, sql, {**keys, "start": _bind_ts(session, start), "end": _bind_ts(session, first_hour)})
                raw_from = covered
    if raw_from < end:
        sql = _RAW_SQL.format(bucket=_BUCKET[dialect].format(col="ts"))
        _merge(buckets, session, sql, {**keys, "start": _bind_ts(session, raw_from), "end": _bind_ts(session, end)})
    points = [
        SeriesPoint(datetime.fromtimestamp(b * step, UTC), lo, hi, total / n, n)
        for b, (lo, hi, total, n) in sorted(buckets.items())
    ]
    return ReadingSeries(subject, metric, unit, start, end, step, points)


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR


def _merge(buckets: Agg, session: Session, sql: str, params: dict[str, object]) -> None:
    for b, lo, hi, total, n in session.execute(text(sql), params):
        key = int(b)
        held = buckets.get(key)
        if held is None:
            buckets[key] = (float(lo), float(hi), float(total), int(n))
        else:
            buckets[key] = (min(held[0], lo), max(held[1], hi), held[2] + total, held[3] + int(n))


def raw(session: Session, *, subject: str, metric: str, start: datetime, end: datetime) -> Iterator[tuple[datetime, float]]:
    """Every numeric reading of the range, oldest first (for the CSV export and MKT)."""
    rows = session.execute(
        text(
            "SELECT ts, value_num FROM readings WHERE subject = :subject AND metric = :metric "
            "AND ts >= :start AND ts < :end AND value_num IS NOT NULL ORDER BY ts"
        ),
        {"subject": subject, "metric": metric, "start": _bind_ts(session, start), "end": _bind_ts(session, end)},
    )
    for ts, value in rows:
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts)
        yield (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)), float(value)


def daily_ranges(
    session: Session, *, subject: str, metric: str, start: datetime, end: datetime, tz: tzinfo
) -> list[DayRange]:
    """Daily minimum and maximum in local days, from hourly buckets computed in SQL."""
    hourly = series(session, subject=subject, metric=metric, start=start, end=end, step=3600)
    days: dict[object, DayRange] = {}
    for p in hourly.points:
        day = p.t.astimezone(tz).date()
        held = days.get(day)
        days[day] = DayRange(day, min(p.min, held.min), max(p.max, held.max)) if held else DayRange(day, p.min, p.max)
    return list(days.values())


def latest_numeric_metric(session: Session, subject: str, prefer: str = "temperature_c") -> tuple[str, str] | None:
    """(metric, unit) to chart by default: the preferred one if the equipment has it, else its first numeric one."""
    rows = session.execute(
        text(
            "SELECT metric, unit FROM readings_latest WHERE subject = :subject AND value_num IS NOT NULL "
            "AND metric NOT LIKE 'cold_chain.%' ORDER BY metric"
        ),
        {"subject": subject},
    ).all()
    for metric, unit in rows:
        if metric == prefer:
            return metric, unit
    return (rows[0][0], rows[0][1]) if rows else None


def period(span: str, now: datetime) -> tuple[datetime, datetime]:
    """'24h', '7d' or '30d' ending now."""
    lengths = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
    return now - lengths[span], now
