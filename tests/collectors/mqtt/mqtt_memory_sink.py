"""An in-memory ReadingSink that commits on its own thread, like the agent's pipeline writer.

It stands in for storage at the collector level: on_stored fires only after a "commit",
from another thread, in batches, so acks behave as they will with the real pipeline.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rules.reading import Reading


@dataclass
class UnknownRecord:
    payload: str
    count: int
    at: datetime


class MemorySink:
    def __init__(self, *, hold: bool = False, maxsize: int = 10_000) -> None:
        self.readings: list[Reading] = []
        self.rejects: Counter[str] = Counter()
        self.unknown: dict[str, UnknownRecord] = {}
        self.hold = hold  # True: never commit (a storage that hangs), so nothing is acked
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Sequence[Reading], Callable[[], None] | None] | None] = queue.Queue(
            maxsize
        )
        self._thread = threading.Thread(target=self._run, name="memory-sink", daemon=True)
        self._thread.start()

    def submit(self, readings: Sequence[Reading], *, on_stored: Callable[[], None] | None = None) -> None:
        self._queue.put((list(readings), on_stored))

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        with self._lock:
            self.rejects[reason] += 1

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        with self._lock:
            prior = self.unknown.get(key)
            self.unknown[key] = UnknownRecord(payload, (prior.count if prior else 0) + 1, at)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < 500:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(batch)
                    return
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[tuple[Sequence[Reading], Callable[[], None] | None]]) -> None:
        if self.hold:
            return
        with self._lock:
            for readings, _ in batch:
                self.readings.extend(readings)
        for _, on_stored in batch:
            if on_stored is not None:
                on_stored()

    def count(self) -> int:
        with self._lock:
            return len(self.readings)

    def values(self) -> list[float | str]:
        with self._lock:
            return [r.value for r in self.readings]

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)
