"""Held notifications become one digest per channel and recipient when their window opens.
An alert that resolved meanwhile is listed as resolved, not re-sent as new."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from agent.storage.models import Alert, OutboxItem


def release_held(session: Session, now: datetime, site_name: str) -> int:
    """Turn due held rows into digest rows (pending); returns how many digests were written."""
    held = session.scalars(
        select(OutboxItem).where(OutboxItem.state == "held", OutboxItem.hold_until <= now).order_by(OutboxItem.id)
    ).all()
    groups: dict[tuple[str, str], list[OutboxItem]] = defaultdict(list)
    for row in held:
        groups[(row.channel, row.recipient)].append(row)
    written = 0
    for (channel, recipient), rows in groups.items():
        ids = [r.id for r in rows]
        claimed = session.execute(
            update(OutboxItem).where(OutboxItem.id.in_(ids), OutboxItem.state == "held").values(state="digested")
        ).rowcount
        if claimed != len(ids):
            session.rollback()  # another agent is releasing the same rows
            return written
        alerts = _latest_per_alert(session, rows)
        subject, body = _text(alerts, site_name)
        digest_id = session.execute(
            insert(OutboxItem)
            .values(
                dedup_key=f"digest:{channel}:{recipient}:{min(r.id for r in rows)}",
                alert_id=None,
                kind="digest",
                team=rows[0].team,
                severity=max(r.severity for r in rows),
                channel=channel,
                channel_type=rows[0].channel_type,
                recipient=recipient,
                subject=subject,
                body=body,
                payload={"digest": True, "alerts": alerts, "site": site_name},
                state="pending",
                detail="",
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
            .returning(OutboxItem.id)
        ).scalar_one()
        session.execute(update(OutboxItem).where(OutboxItem.id.in_(ids)).values(digest_id=digest_id, detail=f"sent in digest #{digest_id}"))
        written += 1
    session.commit()
    return written


def _latest_per_alert(session: Session, rows: list[OutboxItem]) -> list[dict[str, Any]]:
    latest: dict[int, OutboxItem] = {}
    for row in rows:
        if row.alert_id is not None:
            latest[row.alert_id] = row
    status = dict(session.execute(select(Alert.id, Alert.status).where(Alert.id.in_(list(latest)))).all())
    out = []
    for alert_id, row in latest.items():
        payload = dict(row.payload)
        now_status = status.get(alert_id, "resolved")  # gone from storage: it was cancelled or cleared
        payload["status"] = now_status
        out.append(payload)
    out.sort(key=lambda p: (p["status"] == "resolved", -_rank(p.get("severity", "")), p.get("alert_id", 0)))
    return out


def _rank(severity: str) -> int:
    return {"info": 0, "warning": 1, "critical": 2}.get(severity, 0)


def _text(alerts: list[dict[str, Any]], site_name: str) -> tuple[str, str]:
    resolved = sum(1 for a in alerts if a["status"] == "resolved")
    still = len(alerts) - resolved
    subject = f"[{site_name or 'facility'}] Digest: {still} open, {resolved} resolved while you were away"
    lines = ["Held outside your hours:", ""]
    for a in alerts:
        state = "RESOLVED" if a["status"] == "resolved" else a["status"].upper()
        lines.append(f"- {state}: [{a.get('severity', '')}] {a.get('message', '')} (alert #{a.get('alert_id')})")
    return subject, "\n".join(lines) + "\n"
