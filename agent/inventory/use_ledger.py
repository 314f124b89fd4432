"""Each item's consumption over the daily-use window, kept in memory so a count costs no query.

Loaded once per item from stock_records; changes from a batch are staged on its session and
merged only after that session commits, so a batch that is rolled back and retried never counts
its consumption twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from agent.storage.models import StockRecord
from rules.consumption import CHANGE_CONSUMPTION, daily_use

_PENDING = "inventory_use_pending"


@dataclass
class _ItemUse:
    first_seen: datetime | None
    events: deque[tuple[datetime, float]] = field(default_factory=deque)  # (when, units used), oldest first
    total: float = 0.0  # sum of the units in events

    def add(self, at: datetime, units: float) -> None:
        self.events.append((at, units))
        self.total += units

    def drop_before(self, since: datetime) -> None:
        while self.events and self.events[0][0] < since:
            self.total -= self.events.popleft()[1]


class UseLedger:
    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._items: dict[str, _ItemUse] = {}

    def ensure_loaded(self, session: Session, sku: str, now: datetime) -> None:
        """Load an item's history; call before this session adds stock records for it."""
        if sku in self._items:
            return
        first = session.execute(select(func.min(StockRecord.at)).where(StockRecord.sku == sku)).scalar_one()
        rows = session.execute(
            select(StockRecord.at, StockRecord.previous, StockRecord.value)
            .where(
                StockRecord.sku == sku,
                StockRecord.change == CHANGE_CONSUMPTION,
                StockRecord.at >= now - self.window,
            )
            .order_by(StockRecord.at)
        ).all()
        item = _ItemUse(first)
        for at, prev, value in rows:
            if prev is not None:
                item.add(at, float(prev - value))
        self._items[sku] = item

    def record(self, session: Session, sku: str, at: datetime, consumed: float) -> None:
        """Stage one stock record (consumed = 0 for counts and restocks) until the session commits."""
        pending: dict[str, list[tuple[datetime, float]]] | None = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = {}
            event.listen(session, "after_commit", self._merge)
        pending.setdefault(sku, []).append((at, consumed))

    def daily_use(self, session: Session, sku: str, now: datetime) -> float | None:
        item = self._items.get(sku)
        if item is None:
            return None
        staged = session.info.get(_PENDING, {}).get(sku, [])
        first = item.first_seen
        for at, _ in staged:
            first = at if first is None or at < first else first
        since = now - self.window
        item.drop_before(since)
        used = item.total + sum(units for at, units in staged if at >= since)
        return daily_use(used, first_seen=first, now=now, window=self.window)

    def _merge(self, session: Session) -> None:
        pending: dict[str, list[tuple[datetime, float]]] = session.info.pop(_PENDING, {})
        for sku, staged in pending.items():
            item = self._items.get(sku)
            if item is None:
                continue  # not loaded: the next load reads these from storage
            for at, units in staged:
                if item.first_seen is None or at < item.first_seen:
                    item.first_seen = at
                if units > 0:
                    item.add(at, units)

    def forget(self, sku: str | None = None) -> None:
        """Drop cached history (all of it, or one item's) so it is read again from storage."""
        if sku is None:
            self._items.clear()
        else:
            self._items.pop(sku, None)
