"""Inputs from sources that match nothing configured: counted in memory, written out in bulk.

The write-out runs on its own thread (a scheduler job), never on the pipeline's writer, in
short transactions of CHUNK rows (one multi-row upsert each), so a flood of 5,000 unknown
topics holds SQLite's write lock for milliseconds at a time and readings keep flowing.
Memory and the table are both bounded: MAX_KEYS pending, MAX_ROWS stored (the least recently
seen go first), and rows not seen for the history retention are pruned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Executable, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.models import UnknownSource

log = logging.getLogger(__name__)

MAX_PAYLOAD = 500
MAX_KEYS = 10_000  # pending between write-outs; a flood of random topics must not grow memory
MAX_ROWS = 10_000  # stored; the least recently seen are pruned past it
CHUNK = 500  # rows per transaction


@dataclass
class _Seen:
    payload: str
    count: int
    first: datetime
    last: datetime


class UnknownSourceLog:
    def __init__(self, sessions: sessionmaker[Session], *, max_keys: int = MAX_KEYS, max_rows: int = MAX_ROWS) -> None:
        self.sessions = sessions
        self.max_keys = max_keys
        self.max_rows = max_rows
        self._pending: dict[tuple[str, str], _Seen] = {}
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # one write-out at a time (the job and shutdown)
        self.inputs: Counter[str] = Counter()  # messages from unknown sources, by source kind
        self.overflow = 0  # new sources not recorded because MAX_KEYS were pending
        self._overflow_logged = 0.0

    def record(self, source: str, key: str, payload: str, at: datetime) -> None:
        with self._lock:
            self.inputs[source.split(":", 1)[0]] += 1
            seen = self._pending.get((source, key))
            if seen is None:
                if len(self._pending) >= self.max_keys:
                    self.overflow += 1
                    self._warn_overflow()
                    return
                self._pending[(source, key)] = _Seen(payload[:MAX_PAYLOAD], 1, at, at)
            else:
                seen.payload, seen.count, seen.last = payload[:MAX_PAYLOAD], seen.count + 1, at

    def _warn_overflow(self) -> None:
        now = time.monotonic()
        if now - self._overflow_logged >= 10.0:
            self._overflow_logged = now
            log.warning("unknown sources: %d pending already; new ones not recorded (%d so far)", self.max_keys, self.overflow)

    def flush(self) -> int:
        """Write what is pending, in chunks; returns how many sources were written."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return 0
            rows = [
                {
                    "source": source[:30], "key": key[:300], "last_payload": seen.payload,
                    "count": seen.count, "first_seen": seen.first, "last_seen": seen.last,
                }
                for (source, key), seen in pending.items()
            ]
            started = time.monotonic()
            for start in range(0, len(rows), CHUNK):
                with self.sessions() as session:
                    session.execute(_upsert(session, rows[start : start + CHUNK]))
                    session.commit()
            self.prune()
            log.info(
                "unknown sources written",
                extra={"sources": len(rows), "ms": round((time.monotonic() - started) * 1000, 1)},
            )
            return len(rows)

    def prune(self, *, older_than: datetime | None = None) -> int:
        """Keep at most max_rows (the most recently seen), and none last seen before older_than."""
        removed = 0
        with self.sessions() as session:
            if older_than is not None:
                removed += _deleted(session, UnknownSource.last_seen < older_than)
            total = session.scalar(select(func.count()).select_from(UnknownSource)) or 0
            if total > self.max_rows:
                cutoff = session.scalar(
                    select(UnknownSource.last_seen).order_by(UnknownSource.last_seen.desc()).offset(self.max_rows).limit(1)
                )
                if cutoff is not None:
                    removed += _deleted(session, UnknownSource.last_seen <= cutoff)
            session.commit()
        if removed:
            log.info("pruned unknown sources", extra={"rows": removed})
        return removed


def _deleted(session: Session, where: ColumnElement[bool]) -> int:
    result = cast(CursorResult[Any], session.execute(delete(UnknownSource).where(where)))
    return result.rowcount or 0


def _upsert(session: Session, rows: list[dict[str, object]]) -> Executable:
    """One INSERT ... ON CONFLICT DO UPDATE for a chunk: counts add up, the last payload wins."""
    dialect = session.get_bind().dialect.name
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    stmt = insert(UnknownSource).values(rows)
    new = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[UnknownSource.source, UnknownSource.key],
        set_={
            "count": UnknownSource.count + new["count"],
            "last_payload": new["last_payload"],
            "last_seen": func.max(UnknownSource.last_seen, new["last_seen"])
            if dialect == "sqlite"
            else func.greatest(UnknownSource.last_seen, new["last_seen"]),
        },
    )
