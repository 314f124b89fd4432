"""Write notifications to the outbox inside the transaction of the alert change that caused
them (ADR 0012): if the change is stored, so is every notification it owes; if it rolls back,
none exists. Silenced ones are written as 'silenced', ones outside their window as 'held'."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from agent.notify.dispatcher import alert_payload
from agent.notify.email import alert_subject
from agent.notify.routing import Router
from agent.storage.alerts import AppliedTransition
from agent.storage.models import OutboxItem, Silence
from rules.alerts import EVENT_KINDS, TransitionKind


def format_alert_email(applied: AppliedTransition, payload: dict[str, Any], site_name: str) -> tuple[str, str]:
    """(subject, text body) of an alert notification; every channel uses them as title and text."""
    t = applied.transition
    subject = alert_subject(
        site_name or "facility", kind=t.kind.value, severity=payload["severity"], message=t.alert.message, actor=t.actor
    )
    body = f"{t.alert.message}\n\nStatus: {t.alert.status.value}\nAlert #{applied.alert_id} ({t.kind.value} at {t.at:%Y-%m-%d %H:%M} UTC)\n"
    return subject, body


def silenced_by(session: Session, applied: AppliedTransition, now: datetime) -> str | None:
    a = applied.transition.alert
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


class OutboxWriter:
    """AlertStore's on_applied hook: called with the session before the commit."""

    def __init__(self, router: Router, *, clock: Callable[[], datetime], site_name: str = "") -> None:
        self.router = router
        self.clock = clock
        self.site_name = site_name
        self.written = 0  # rows written; the sender is woken when this moves

    def __call__(self, session: Session, applied: Sequence[AppliedTransition]) -> None:
        rows: list[dict[str, Any]] = []
        now = self.clock()
        for item in applied:
            t = item.transition
            if not t.notify or (t.kind not in EVENT_KINDS and t.kind is not TransitionKind.SETTLED):
                continue
            if t.kind is TransitionKind.CANCELLED:
                continue
            payload = alert_payload(item)
            subject, body = format_alert_email(item, payload, self.site_name)
            targets = self.router.targets(t.alert.team, payload["severity"], escalated=t.kind is TransitionKind.ESCALATED)
            if not targets:
                continue
            silence = silenced_by(session, item, now)
            for target in targets:
                opens = target.window.next_open(now)
                for recipient in target.recipients:
                    state, detail, hold = "pending", "", None
                    if silence:
                        state, detail = "silenced", silence
                    elif opens is None or opens > now:
                        state, hold = "held", opens
                        detail = f"outside '{target.window.name}'; goes out in the digest when it opens"
                    rows.append(
                        {
                            "dedup_key": f"{item.alert_id}:{t.kind.value}:{t.at.isoformat()}:{target.channel}:{recipient}"[:300],
                            "alert_id": item.alert_id,
                            "kind": t.kind.value,
                            "team": t.alert.team,
                            "severity": int(t.alert.severity),
                            "channel": target.channel,
                            "channel_type": target.config.type,
                            "recipient": recipient,
                            "subject": subject,
                            "body": body,
                            "payload": payload,
                            "state": state,
                            "detail": detail,
                            "created_at": now,
                            "next_attempt_at": hold or now,
                            "hold_until": hold,
                            "attempts": 0,
                        }
                    )
        if not rows:
            return
        rows = list({r["dedup_key"]: r for r in rows}.values())
        keys = [r["dedup_key"] for r in rows]
        existing = set(session.scalars(select(OutboxItem.dedup_key).where(OutboxItem.dedup_key.in_(keys))))
        fresh = [r for r in rows if r["dedup_key"] not in existing]
        if fresh:
            session.execute(insert(OutboxItem), fresh)
            self.written += len(fresh)
