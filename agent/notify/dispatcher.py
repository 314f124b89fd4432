"""Fan alert changes out to the MQTT alert topic; the payload every channel describes an alert with."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.metrics import AgentMetrics
from agent.storage.alerts import AppliedTransition
from rules.alerts import EVENT_KINDS, TransitionKind

log = logging.getLogger(__name__)

PublishAlert = Callable[[int, dict[str, Any]], None]


def alert_payload(applied: AppliedTransition) -> dict[str, Any]:
    t = applied.transition
    a = t.alert
    return {
        "alert_id": applied.alert_id,
        "event": t.kind.value,
        "at": t.at.isoformat(),
        "rule_id": a.rule_id,
        "subject": a.subject,
        "subject_kind": a.subject_kind,
        "status": a.status.value,
        "previous": t.previous.value if t.previous else None,
        "severity": a.severity.label,
        "team": a.team,
        "message": a.message,
        "value": a.last_value,
        "worst_value": a.worst_value,
        "occurrences": a.occurrences,
        "flapping": a.flapping,
        "actor": t.actor,
        "comment": t.comment,
        "reason": t.reason.value if t.reason else None,
    }


class Dispatcher:
    """Publishes every alert change to the MQTT alert topic. People are told through the outbox
    (agent.notify.outbox, written with the change; agent.notify.sender delivers it). The topic is a
    state feed for machines, not a notification, so silences don't hold it: each message says
    whether a silence covers the alert (ADR 0012)."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        metrics: AgentMetrics | None = None,
        publish_alert: PublishAlert | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.metrics = metrics
        self.publish_alert = publish_alert
        self._queue: asyncio.Queue[list[AppliedTransition]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # Called on the pipeline's writer thread.
    def listener(self, applied: list[AppliedTransition]) -> None:
        if self._loop is None or self._queue is None:
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, applied)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        while True:
            batch = await self._queue.get()
            for applied in batch:
                try:
                    await self._dispatch(applied)
                except Exception:  # noqa: BLE001 - one bad notification must not stop the others
                    log.exception("dispatch failed", extra={"alert_id": applied.alert_id})

    async def drain(self) -> None:
        """Publish what is queued (used at shutdown)."""
        if self._queue is None:
            return
        while not self._queue.empty():
            for applied in self._queue.get_nowait():
                await self._dispatch(applied)

    async def _dispatch(self, applied: AppliedTransition) -> None:
        t = applied.transition
        if self.metrics is not None:
            self.metrics.transitions.labels(t.kind.value).inc()
        if t.kind not in EVENT_KINDS and t.kind is not TransitionKind.SETTLED:
            return
        if self.publish_alert is None:
            return
        payload = alert_payload(applied)
        payload["silenced_by"] = await asyncio.to_thread(self._silenced_by, applied)
        try:
            self.publish_alert(applied.alert_id, payload)
            self._count("mqtt", ok=True)
        except Exception as exc:  # noqa: BLE001
            self._count("mqtt", ok=False)
            log.warning("could not publish alert change to MQTT: %s", exc)

    def _count(self, channel: str, *, ok: bool) -> None:
        if self.metrics is None:
            return
        (self.metrics.notifications_sent if ok else self.metrics.notification_failures).labels(channel).inc()

    def _silenced_by(self, applied: AppliedTransition) -> str | None:
        from agent.notify.outbox import silenced_by

        with self.sessions() as session:
            return silenced_by(session, applied, self.clock())
