"""Fan alert changes out to the MQTT alert topic and to email, honouring silences and flapping,
and deduplicating against the notification log so a restart never sends the same thing twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.metrics import AgentMetrics
from agent.notify.email import alert_subject
from agent.storage.alerts import AppliedTransition
from agent.storage.models import NotificationLog, Silence
from rules.alerts import EVENT_KINDS, TransitionKind

log = logging.getLogger(__name__)

PublishAlert = Callable[[int, dict[str, Any]], None]
SendEmail = Callable[[Sequence[str], str, str], None]  # recipients, subject, text body


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
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        metrics: AgentMetrics | None = None,
        publish_alert: PublishAlert | None = None,
        send_email: SendEmail | None = None,
        team_emails: dict[str, list[str]] | None = None,
        coordinator_emails: Sequence[str] = (),
        site_name: str = "",
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.metrics = metrics
        self.publish_alert = publish_alert
        self.send_email = send_email
        self.team_emails = team_emails or {}
        self.coordinator_emails = list(coordinator_emails)
        self.site_name = site_name
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
        """Deliver what is queued (used at shutdown)."""
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
        payload = alert_payload(applied)
        if self.publish_alert is not None:
            try:
                self.publish_alert(applied.alert_id, payload)
                self._count("mqtt", ok=True)
            except Exception as exc:  # noqa: BLE001
                self._count("mqtt", ok=False)
                log.warning("could not publish alert change to MQTT: %s", exc)
        if not t.notify:
            return
        recipients = list(self.team_emails.get(t.alert.team, []))
        if t.kind is TransitionKind.ESCALATED:
            recipients += self.coordinator_emails
        if not recipients or self.send_email is None:
            return
        silenced_by = await asyncio.to_thread(self._silenced_by, applied)
        for recipient in dict.fromkeys(recipients):
            key = f"{applied.alert_id}:{t.kind.value}:{t.at.isoformat()}:email:{recipient}"
            status = "silenced" if silenced_by else "sent"
            if not await asyncio.to_thread(self._claim, key, applied.alert_id, "email", recipient, status, silenced_by or ""):
                continue  # already sent (or held) before a restart
            if silenced_by:
                continue
            subject = alert_subject(
                self.site_name or "facility", kind=t.kind.value, severity=payload["severity"], message=t.alert.message, actor=t.actor
            )
            body = f"{t.alert.message}\n\nStatus: {t.alert.status.value}\nAlert #{applied.alert_id} ({t.kind.value} at {t.at:%Y-%m-%d %H:%M} UTC)\n"
            try:
                await asyncio.to_thread(self.send_email, [recipient], subject, body)
                self._count("email", ok=True)
            except Exception as exc:  # noqa: BLE001
                self._count("email", ok=False)
                await asyncio.to_thread(self._mark_failed, key, str(exc))
                log.warning("alert email to %s failed: %s", recipient, exc)

    def _count(self, channel: str, *, ok: bool) -> None:
        if self.metrics is None:
            return
        (self.metrics.notifications_sent if ok else self.metrics.notification_failures).labels(channel).inc()

    def _silenced_by(self, applied: AppliedTransition) -> str | None:
        a = applied.transition.alert
        now = self.clock()
        with self.sessions() as session:
            rows = session.scalars(select(Silence).where(Silence.ends_at > now, Silence.starts_at <= now)).all()
        for s in rows:
            if s.equipment_id and s.equipment_id != a.subject:
                continue
            if s.rule_id and s.rule_id != a.rule_id and not a.rule_id.startswith(s.rule_id + "["):
                continue  # a silence on a pattern rule covers each metric it watches
            if s.team and s.team != a.team:
                continue
            return f"silence #{s.id} by {s.created_by}: {s.comment}"
        return None

    def _claim(self, key: str, alert_id: int, channel: str, recipient: str, status: str, detail: str) -> bool:
        with self.sessions() as session:
            try:
                session.execute(
                    insert(NotificationLog).values(
                        dedup_key=key, alert_id=alert_id, channel=channel, recipient=recipient, status=status, detail=detail, at=self.clock()
                    )
                )
                session.commit()
                return True
            except IntegrityError:
                session.rollback()
                return False

    def _mark_failed(self, key: str, error: str) -> None:
        from sqlalchemy import update

        with self.sessions() as session:
            session.execute(update(NotificationLog).where(NotificationLog.dedup_key == key).values(status="failed", detail=error[:2000]))
            session.commit()
