"""A clock the test moves by hand. Code under test takes a clock; nothing patches datetime."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

# A Monday morning, so weekly and daily schedules have an obvious next run.
DEFAULT_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


class FakeClock:
    """Aware-UTC time that only moves when told to. Calling it returns now(), so it can be passed
    wherever the agent takes a `Callable[[], datetime]`. Safe to read from other threads."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._lock = threading.Lock()
        self._now = _utc(start)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    __call__ = now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by delta and return the new time. Going back is set()'s job."""
        if delta < timedelta(0):
            raise ValueError(f"advance() goes forward only; got {delta}. Use set() to go back.")
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to when (any aware time; stored as UTC) and return it."""
        with self._lock:
            self._now = _utc(when)
            return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"


def _utc(when: datetime) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"the clock needs an aware datetime, got naive {when!r}; add tzinfo=UTC")
    return when.astimezone(UTC)
