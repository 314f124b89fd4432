"""The subscriber's counters (for /metrics and tests) and its rate-limited reject log."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any


class MqttStats:
    """Counters for /metrics and tests.

    No lock: each counter has one writing thread (paho's loop thread; `stored` the sink's
    writer thread), and reads of an int are atomic.
    """

    def __init__(self) -> None:
        self.received = 0
        self.accepted = 0
        self.stored = 0
        self.duplicates = 0
        self.unknown_sources = 0
        self.ignored = 0
        self.connects = 0
        self.connect_failures = 0
        self.rejected: Counter[str] = Counter()

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def rejects_by_reason(self) -> dict[str, int]:
        return dict(self.rejected)  # a C-level copy: atomic under the GIL

    def snapshot(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "unknown_sources": self.unknown_sources,
            "ignored": self.ignored,
            "connects": self.connects,
            "rejected": self.rejects_by_reason(),
        }


class RateLimitedLog:
    """One warning per reason per interval, with how many were suppressed."""

    def __init__(self, logger: logging.Logger, interval_s: float, monotonic: Callable[[], float]) -> None:
        self._logger = logger
        self._interval = interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._pending: Counter[str] = Counter()

    def warn(self, reason: str, topic: str, detail: str) -> None:
        now = self._monotonic()
        with self._lock:
            self._pending[reason] += 1
            last = self._last.get(reason)
            if last is not None and now - last < self._interval:
                return
            count = self._pending.pop(reason)
            self._last[reason] = now
        self._logger.warning(
            "mqtt message rejected reason=%s count=%d topic=%r detail=%s",
            reason,
            count,
            topic[:200],
            detail,
            extra={"reason": reason, "count": count},
        )
