"""Inputs from sources that match nothing configured, counted in memory and flushed to storage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.models import UnknownSource

MAX_PAYLOAD = 500
MAX_KEYS = 10_000  # a flood of random topics must not grow memory without bound


@dataclass
class _Seen:
    payload: str
    count: int
    first: datetime
    last: datetime


class UnknownSourceLog:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._pending: dict[tuple[str, str], _Seen] = {}
        self._lock = threading.Lock()
        self.overflow = 0

    def record(self, source: str, key: str, payload: str, at: datetime) -> None:
        with self._lock:
            seen = self._pending.get((source, key))
            if seen is None:
                if len(self._pending) >= MAX_KEYS:
                    self.overflow += 1
                    return
                self._pending[(source, key)] = _Seen(payload[:MAX_PAYLOAD], 1, at, at)
            else:
                seen.payload, seen.count, seen.last = payload[:MAX_PAYLOAD], seen.count + 1, at

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        with self.sessions() as session:
            for (source, key), seen in pending.items():
                row = session.scalar(select(UnknownSource).where(UnknownSource.source == source, UnknownSource.key == key))
                if row is None:
                    session.add(
                        UnknownSource(
                            source=source[:30], key=key[:300], last_payload=seen.payload, count=seen.count, first_seen=seen.first, last_seen=seen.last
                        )
                    )
                else:
                    row.count += seen.count
                    row.last_payload = seen.payload
                    row.last_seen = max(row.last_seen, seen.last)
            session.commit()
        return len(pending)

    def as_sink(self) -> Callable[[str, str, str, datetime], None]:
        return self.record
