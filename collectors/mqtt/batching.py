"""Gather items from one thread and hand them over in batches from another.

MQTT delivers one message at a time. Handing readings to the pipeline one by one costs a queue
operation, a thread wake-up and, when the writer keeps up, a transaction each. Gathering them
for a few milliseconds makes one submit (and one commit) out of many.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Batcher(Generic[T]):
    """add() items; a thread calls flush(items) at most max_delay after the first of a batch,
    or as soon as max_items are waiting. add() blocks while max_pending are waiting
    (back-pressure, not loss)."""

    def __init__(
        self,
        flush: Callable[[list[T]], None],
        *,
        max_items: int = 500,
        max_delay: float = 0.005,
        max_pending: int = 5000,
        name: str = "batcher",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_items < 1 or max_pending < max_items:
            raise ValueError("need 1 <= max_items <= max_pending")
        self._flush = flush
        self._max_items = max_items
        self._max_delay = max_delay
        self._max_pending = max_pending
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._items: list[T] = []
        self._running = False
        self._thread: threading.Thread | None = None
        self._name = name

    def start(self) -> None:
        with self._cond:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Flush what is waiting, then stop the thread."""
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def add(self, item: T) -> bool:
        """Queue one item; False (item refused) once stop() has begun."""
        with self._cond:
            while len(self._items) >= self._max_pending and self._running:
                self._cond.wait(0.1)
            if not self._running:
                return False
            self._items.append(item)
            size = len(self._items)
            if size == 1 or size >= self._max_items:
                self._cond.notify_all()
            return True

    def _take(self) -> list[T] | None:
        """The next batch, or None when stopped with nothing left."""
        with self._cond:
            while not self._items:
                if not self._running:
                    return None
                self._cond.wait()
            deadline = self._monotonic() + self._max_delay
            while self._running and len(self._items) < self._max_items:
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            items, self._items = self._items, []
            self._cond.notify_all()  # wake adders held by max_pending
            return items

    def _run(self) -> None:
        while True:
            items = self._take()
            if items is None:
                return
            try:
                self._flush(items)
            except Exception:  # one failed hand-over must not end the thread
                log.exception("batch flush failed items=%d", len(items))
