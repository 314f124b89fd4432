"""Results kept in memory for a moment, so that fifty phones polling the queue cost one query.

``Recent`` holds computed pages keyed by their filters. A result is fresh for ``ttl`` seconds
while the generation (bumped on every alert change in this process) is unchanged. When it
expires with nothing changed, one caller recomputes it while the others keep getting the old
result (never older than ``stale_limit``) instead of queueing behind the query. After a change
everybody waits for the new result, so nobody sees a page older than their own action.

``Expiring`` holds who a token or a signed-in user is, for ``ttl`` seconds: the check runs on
every request and would otherwise cost a database round trip each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry:
    generation: int
    taken: float  # time.monotonic()
    now: datetime  # the agent's clock when computed
    value: Any


class Recent:
    """Results reused for ``ttl`` seconds (by the monotonic and by the agent's clock) while the
    generation is unchanged; one caller computes a missing result while others wait for it, and
    an expired result with an unchanged generation is served while one caller refreshes it."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 256,
        stale_limit: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self._monotonic = monotonic
        self.max_entries = max_entries
        self.stale_limit = stale_limit if stale_limit is not None else max(10 * ttl, 5.0)
        self._items: dict[Any, _Entry] = {}
        self._refreshing: set[Any] = set()
        self._lock = threading.Lock()

    def _fresh(self, entry: _Entry | None, generation: int, now: datetime) -> bool:
        return (
            entry is not None
            and entry.generation == generation
            and 0 <= self._monotonic() - entry.taken < self.ttl
            and abs((now - entry.now).total_seconds()) < self.ttl
        )

    def _servable_while_refreshing(self, key: Any, entry: _Entry | None, generation: int) -> bool:
        return (
            entry is not None
            and entry.generation == generation
            and key in self._refreshing
            and 0 <= self._monotonic() - entry.taken < self.stale_limit
        )

    def peek(self, key: Any, generation: int, now: datetime) -> Any | None:
        """The result if it can be served without computing (never blocks); else None."""
        if self.ttl <= 0:
            return None
        entry = self._items.get(key)
        if self._fresh(entry, generation, now) or self._servable_while_refreshing(key, entry, generation):
            return entry.value  # type: ignore[union-attr]
        return None

    def get(self, key: Any, generation: int, now: datetime, make: Callable[[], Any]) -> Any:
        if self.ttl <= 0:
            return make()
        served = self.peek(key, generation, now)
        if served is not None:
            return served
        with self._lock:  # one computes; the others wait here, or are served above while it runs
            entry = self._items.get(key)
            if self._fresh(entry, generation, now):
                return entry.value  # type: ignore[union-attr]
            # The generation was read before the query: a change committed meanwhile makes it stale.
            taken = self._monotonic()
            self._refreshing.add(key)
            try:
                value = make()
            finally:
                self._refreshing.discard(key)
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = _Entry(generation, taken, now, value)
            return value


class Expiring(Generic[V]):
    """A small map whose entries are forgotten ``ttl`` seconds after they were put. When an entry
    expires, the first caller is told to look it up again (a miss) while, for up to ``grace``
    seconds, the others keep getting the old value: fifty clients whose token expired at the
    same moment cost one lookup, not fifty."""

    def __init__(
        self,
        ttl: float,
        *,
        grace: float = 1.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.grace = grace
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._items: dict[Any, tuple[float, V]] = {}
        self._refreshing: set[Any] = set()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, V | None]:
        """(True, value) when known and young enough; (False, None) when the caller must look it
        up and put() (or forget()) the answer."""
        item = self._items.get(key)  # one dict read: safe across threads
        if item is None:
            return False, None
        age = self._monotonic() - item[0]
        if age < self.ttl:
            return True, item[1]
        if age < self.ttl + self.grace:
            with self._lock:
                if key in self._refreshing:
                    return True, item[1]  # another caller is looking it up right now
                self._refreshing.add(key)
        return False, None

    def put(self, key: Any, value: V) -> None:
        with self._lock:
            self._refreshing.discard(key)
            if self.ttl <= 0:
                return
            if len(self._items) >= self.max_entries:
                self._items = {}  # many distinct keys: start again rather than grow
            self._items[key] = (self._monotonic(), value)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._refreshing.discard(key)
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._refreshing.clear()
            self._items = {}
