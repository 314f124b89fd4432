"""The notification log as people read it: one query for "who was told what, and did it arrive".
Pages and the API read it through here only, so its shape lives in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.storage.models import DeliveryAttempt, OutboxItem


@dataclass(frozen=True, slots=True)
class Delivery:
    outbox_id: int
    kind: str  # the alert event it tells of
    channel: str
    channel_type: str
    recipient: str  # an address, or the channel's name for URL channels
    state: str  # pending, held, sent, gave_up, silenced, digested
    detail: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_attempt_at: datetime | None


def notification_history(session: Session, alert_id: int) -> list[Delivery]:
    """Every notification owed for one alert, oldest first (a digested one says which digest carried it)."""
    last = (
        select(DeliveryAttempt.outbox_id, func.max(DeliveryAttempt.at).label("last_at"))
        .where(DeliveryAttempt.alert_id == alert_id)
        .group_by(DeliveryAttempt.outbox_id)
        .subquery()
    )
    rows = session.execute(
        select(OutboxItem, last.c.last_at)
        .outerjoin(last, last.c.outbox_id == OutboxItem.id)
        .where(OutboxItem.alert_id == alert_id)
        .order_by(OutboxItem.id)
    ).all()
    return [
        Delivery(
            r.id, r.kind, r.channel, r.channel_type, r.recipient, r.state, r.detail, r.attempts, r.created_at, r.sent_at, last_at
        )
        for r, last_at in rows
    ]
