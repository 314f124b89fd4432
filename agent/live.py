"""Live alert changes for connected web clients (server-sent events).

The broadcaster is a pipeline listener: the writer thread calls it after each commit, and it
hands each change to every subscriber's asyncio queue with loop.call_soon_threadsafe, so the
writer never blocks on a slow client. A client that falls too far behind is dropped (its
browser reconnects and re-fetches), rather than holding memory without bound.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agent.storage.alerts import AppliedTransition
from rules.views import AlertChange

log = logging.getLogger(__name__)

_OVERFLOW = object()


@dataclass(eq=False)
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[object] = field(default_factory=lambda: asyncio.Queue())
    limit: int = 1000
    dropped: bool = False

    def offer(self, item: object) -> None:
        """Runs on the subscriber's loop."""
        if self.dropped:
            return
        if self.queue.qsize() >= self.limit:
            self.dropped = True
            self.queue.put_nowait(_OVERFLOW)
            return
        self.queue.put_nowait(item)


def change_of(applied: AppliedTransition) -> AlertChange:
    t = applied.transition
    snap = t.alert
    return AlertChange(
        alert_id=applied.alert_id,
        kind=t.kind.value,
        status=snap.status.value,
        severity=snap.severity.label,
        subject=snap.subject,
        team=snap.team,
        message=snap.message,
        actor=t.actor,
        at=t.at,
        event_id=applied.event_id,
    )


class LiveBroadcaster:
    """Add ``broadcaster.listener`` to ``pipeline.listeners``; hand ``broadcaster`` to AppServices."""

    def __init__(self, *, keepalive: float = 15.0, per_client_limit: int = 1000) -> None:
        self.keepalive = keepalive
        self.per_client_limit = per_client_limit
        self._lock = threading.Lock()
        self._subscribers: set[_Subscriber] = set()

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def listener(self, applied: list[AppliedTransition]) -> None:
        """Pipeline listener (writer thread). Non-blocking."""
        changes = [change_of(a) for a in applied]
        if not changes:
            return
        self.publish(changes)

    def publish(self, changes: list[AlertChange]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            for change in changes:
                try:
                    sub.loop.call_soon_threadsafe(sub.offer, change)
                except RuntimeError:  # that client's loop is closed: forget it
                    with self._lock:
                        self._subscribers.discard(sub)
                    break

    async def changes(self) -> AsyncIterator[AlertChange | None]:
        """Changes from now on; ``None`` after ``keepalive`` seconds of quiet. Ends if the client
        falls more than ``per_client_limit`` changes behind."""
        sub = _Subscriber(asyncio.get_running_loop(), limit=self.per_client_limit)
        with self._lock:
            self._subscribers.add(sub)
        try:
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=self.keepalive)
                except TimeoutError:
                    yield None
                    continue
                if item is _OVERFLOW:
                    log.warning("live client fell behind by %d changes; dropping it", self.per_client_limit)
                    return
                assert isinstance(item, AlertChange)
                yield item
        finally:
            with self._lock:
                self._subscribers.discard(sub)
