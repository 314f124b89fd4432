"""The outbox sender: delivers due rows with retries and exponential backoff, logs every attempt,
gives up after the configured time. A row is claimed by pushing its next_attempt_at one lease
ahead (a conditional update), so two agents never send it together and a sender that dies
mid-send leaves it to be retried after the lease (ADR 0012)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.config.notify_model import DeliveryConfig
from agent.metrics import AgentMetrics
from agent.notify.ack_links import LinkMaker
from agent.notify.channels import Deliver, DeliveryError, Message
from agent.notify.digest import release_held
from agent.storage.models import DeliveryAttempt, OutboxItem

log = logging.getLogger(__name__)

LINK_KINDS = frozenset({"opened", "escalated", "worsened", "reopened", "unacknowledged"})
GiveUp = Callable[[OutboxItem, str], None]


class OutboxSender:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        channels: dict[str, Deliver],
        delivery: DeliveryConfig,
        site_name: str = "",
        metrics: AgentMetrics | None = None,
        links: LinkMaker | None = None,
        account_for: Callable[[str], str | None] = lambda address: None,
        on_give_up: GiveUp | None = None,
        batch: int = 100,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.channels = channels
        self.delivery = delivery
        self.site_name = site_name
        self.metrics = metrics
        self.links = links
        self.account_for = account_for
        self.on_give_up = on_give_up
        self.batch = batch
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---------------------------------------------------------------- loop
    def wake(self, *_: object) -> None:
        """Thread-safe: look at the outbox now (a listener after each committed alert change)."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        interval = max(self.delivery.poll_interval.total_seconds(), 0.05)
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # noqa: BLE001 - storage trouble: try again on the next round
                log.exception("outbox round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()

    # ---------------------------------------------------------------- one round
    def run_once(self) -> int:
        """Release due digests, then try every due row once. Returns rows delivered."""
        now = self.clock()
        with self.sessions() as session:
            release_held(session, now, self.site_name)
        delivered = 0
        with self.sessions() as session:
            due = session.execute(
                select(OutboxItem.id, OutboxItem.next_attempt_at)
                .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now)
                .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
                .limit(self.batch)
            ).all()
        for row_id, planned in due:
            if self._claim(row_id, planned, now):
                delivered += self._deliver(row_id)
        self._gauge()
        return delivered

    def _claim(self, row_id: int, planned: datetime, now: datetime) -> bool:
        with self.sessions() as session:
            claimed = session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == row_id, OutboxItem.state == "pending", OutboxItem.next_attempt_at == planned)
                .values(next_attempt_at=now + self.delivery.lease, attempts=OutboxItem.attempts + 1)
            ).rowcount
            session.commit()
        return claimed == 1

    def _deliver(self, row_id: int) -> int:
        with self.sessions() as session:
            row = session.get(OutboxItem, row_id)
            if row is None:
                return 0
            deliver = self.channels.get(row.channel)
            ack_url = None
            if self.links is not None and row.recipient and row.alert_id is not None and row.kind in LINK_KINDS:
                where = row.recipient if row.channel_type == "email" else f"{row.channel_type} '{row.channel}'"
                ack_url = self.links.link(session, alert_id=row.alert_id, recipient=where, account=self.account_for(row.recipient), now=self.clock())
            message = Message(row.id, row.dedup_key, row.kind, row.recipient, row.subject, row.body, dict(row.payload), ack_url, self.site_name)
            session.expunge(row)
        error = ""
        try:
            if deliver is None:
                raise DeliveryError(f"channel '{row.channel}' is no longer configured")
            deliver(message)
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a channel's bug must not stop the others
            error = f"{type(exc).__name__}: {exc}"
        self._record(row, error)
        return 0 if error else 1

    def _record(self, row: OutboxItem, error: str) -> None:
        now = self.clock()
        gave_up = False
        with self.sessions() as session:
            session.execute(insert(DeliveryAttempt).values(outbox_id=row.id, alert_id=row.alert_id, at=now, ok=not error, error=error[:2000]))
            if not error:
                values: dict[str, object] = {"state": "sent", "sent_at": now, "detail": ""}
            elif now - row.created_at >= self.delivery.give_up_after:
                gave_up = True
                values = {"state": "gave_up", "detail": f"gave up after {row.attempts} attempts: {error}"[:2000]}
            else:
                values = {"next_attempt_at": now + self._backoff(row.attempts), "detail": error[:2000]}
            session.execute(update(OutboxItem).where(OutboxItem.id == row.id).values(**values))
            session.commit()
        channel = row.channel_type
        if self.metrics is not None:
            (self.metrics.notification_failures if error else self.metrics.notifications_sent).labels(channel).inc()
            if gave_up:
                self.metrics.notifications_given_up.labels(channel).inc()
        if error:
            log.warning("notification %s via %s failed (attempt %d): %s", row.id, row.channel, row.attempts, error)
        if gave_up and self.on_give_up is not None:
            try:
                self.on_give_up(row, error)
            except Exception:  # noqa: BLE001
                log.exception("could not record the give-up on the alert")

    def _backoff(self, attempts: int) -> timedelta:
        first = self.delivery.retry_initial
        return min(first * (2 ** max(attempts - 1, 0)), self.delivery.retry_max)

    def _gauge(self) -> None:
        if self.metrics is None:
            return
        with self.sessions() as session:
            counts: dict[str, int] = dict(session.execute(select(OutboxItem.state, func.count()).where(OutboxItem.state.in_(("pending", "held"))).group_by(OutboxItem.state)).all())
        for state in ("pending", "held"):
            self.metrics.outbox_rows.labels(state).set(counts.get(state, 0))
