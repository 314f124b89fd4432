"""Reading a supply's stock records back: a page of them (newest first), the same as CSV, and what
the supply's page shows (recent counts for the chart, the latest records, the daily-use basis)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from agent.inventory.levels import level_of
from agent.services.errors import Invalid, NotFound
from agent.services.queries import decode_cursor, encode_cursor
from agent.storage.models import StockRecord, SupplyItem, User
from rules.consumption import DEFAULT_USE_WINDOW
from rules.restock import SupplyLevel
from rules.stock_history import StockHistoryPage, StockRecordView, UseBasis, record_view, use_basis

Sessions = sessionmaker[Session]
MAX_LIMIT = 500
CSV_MAX_ROWS = 100_000  # a year of a shelf reporting every few minutes; beyond that, page by date
CSV_COLUMNS = (
    "at", "sku", "source", "topic", "device", "person", "person_name", "before", "after", "change",
    "classification", "comment",
)


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(name, f"{name} needs a time zone, e.g. 2026-03-01T00:00:00Z")
    return value


def _query(sku: str, start: datetime | None, end: datetime | None) -> Any:
    query = (
        select(StockRecord, User.display_name)
        .outerjoin(User, and_(StockRecord.source == "person", User.username == StockRecord.actor))
        .where(StockRecord.sku == sku)
    )
    if start is not None:
        query = query.where(StockRecord.at >= start)
    if end is not None:
        query = query.where(StockRecord.at < end)
    return query


def _views(rows: Iterable[Any]) -> list[StockRecordView]:
    return [
        record_view(
            id=rec.id, sku=rec.sku, at=rec.at, source=rec.source, actor=rec.actor, previous=rec.previous,
            value=rec.value, change=rec.change, comment=rec.comment, display_name=name or None,
        )
        for rec, name in rows
    ]


def _check(session: Session, sku: str, start: datetime | None, end: datetime | None) -> None:
    _aware("from", start)
    _aware("to", end)
    if start is not None and end is not None and end <= start:
        raise Invalid("to", "'to' must be after 'from'")
    if session.get(SupplyItem, sku) is None:
        raise NotFound(f"no supply item {sku!r}")


def list_counts(
    sessions: Sessions, *, sku: str, start: datetime | None = None, end: datetime | None = None,
    cursor: str | None = None, limit: int = 100,
) -> StockHistoryPage:
    """Stock records newest first (by time, then by id), from ``start`` up to but not including ``end``."""
    if limit < 1 or limit > MAX_LIMIT:
        raise Invalid("limit", f"limit must be between 1 and {MAX_LIMIT}")
    with sessions() as session:
        _check(session, sku, start, end)
        query = _query(sku, start, end)
        if cursor:
            at_iso, last_id = decode_cursor(cursor, (str, int))
            try:
                at = datetime.fromisoformat(at_iso)
            except ValueError:
                raise Invalid("cursor", "the cursor is not one this server gave out; start again without it") from None
            query = query.where(or_(StockRecord.at < at, and_(StockRecord.at == at, StockRecord.id < last_id)))
        rows = session.execute(query.order_by(StockRecord.at.desc(), StockRecord.id.desc()).limit(limit + 1)).all()
    items = _views(rows[:limit])
    next_cursor = encode_cursor([items[-1].at.isoformat(), items[-1].id]) if len(rows) > limit else None
    return StockHistoryPage(items=items, next_cursor=next_cursor)


def all_counts(sessions: Sessions, *, sku: str, start: datetime | None = None, end: datetime | None = None) -> list[StockRecordView]:
    """Every record in the range, newest first (the CSV)."""
    with sessions() as session:
        _check(session, sku, start, end)
        query = _query(sku, start, end).order_by(StockRecord.at.desc(), StockRecord.id.desc()).limit(CSV_MAX_ROWS)
        return _views(session.execute(query).all())


def _csv_num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def counts_csv(records: Sequence[StockRecordView]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in records:
        writer.writerow([
            r.at.isoformat(), r.sku, r.source, r.topic or "", r.device or "", r.person or "", r.person_name or "",
            _csv_num(r.before), _csv_num(r.after), _csv_num(r.change), r.classification, r.comment,
        ])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class SupplyHistory:
    """What the supply's page shows besides its level."""

    level: SupplyLevel
    chart_records: list[StockRecordView]  # oldest first, the chart's period
    latest: list[StockRecordView]  # newest first
    basis: UseBasis
    since: datetime
    until: datetime


def supply_history(
    sessions: Sessions, *, sku: str, now: datetime, days: int = 28, latest: int = 20,
    window: timedelta = DEFAULT_USE_WINDOW,
) -> SupplyHistory:
    since = now - timedelta(days=days)
    with sessions() as session:
        row = session.get(SupplyItem, sku)
        if row is None:
            raise NotFound(f"no supply item {sku!r}")
        level = level_of(row)
        # Daily use as it was computed at the last count: the figure stored, alerted on and shown.
        as_of = level.counted_at or now
        start = min(since, as_of - window)
        rows = session.execute(_query(sku, start, None).order_by(StockRecord.at, StockRecord.id)).all()
        # The count before the period, so the chart's line starts at its left edge.
        before = session.execute(
            _query(sku, None, since).order_by(StockRecord.at.desc(), StockRecord.id.desc()).limit(1)
        ).all()
        newest = session.execute(
            _query(sku, None, None).order_by(StockRecord.at.desc(), StockRecord.id.desc()).limit(latest)
        ).all()
        first_at = session.scalar(select(StockRecord.at).where(StockRecord.sku == sku).order_by(StockRecord.at).limit(1))
    records = _views(rows)
    chart = _views(before) + [r for r in records if r.at >= since]
    if first_at is not None and first_at - timedelta(hours=12) > since:
        since = first_at - timedelta(hours=12)  # a young item's chart starts just before its first count
    basis = use_basis([r for r in records if as_of - window <= r.at <= as_of], now=as_of, window=window,
                      first_seen=first_at)
    return SupplyHistory(level=level, chart_records=chart, latest=_views(newest), basis=basis, since=since, until=now)
