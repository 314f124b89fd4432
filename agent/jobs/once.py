"""A report sent once per site and period, whoever runs it and however often it is started.

The claim is a row in job_claims, unique per (job, site, period): the first agent to insert it
sends; everyone else (a second agent, the same agent after a restart, the cron trigger and the
catch-up check firing together) sees the row and leaves it alone. A failed send is retried with
backoff by whoever finds it due; a sender that died mid-send loses its claim after a lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.models import JobClaim

log = logging.getLogger(__name__)

STATE_SENDING = "sending"
STATE_RETRYING = "retrying"
STATE_SENT = "sent"
STATE_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Prepared:
    """What one attempt sends, and facts to keep with the claim (e.g. how many lines)."""

    message: EmailMessage
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str  # not_due, sent, retrying, failed, done, busy, waiting
    period: str | None = None
    attempts: int = 0
    error: str = ""


def _iso(at: datetime) -> str:
    return at.isoformat()


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class OnceReport:
    def __init__(
        self,
        *,
        job: str,
        site_id: str,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        due: Callable[[datetime], str | None],
        prepare: Callable[[str, datetime], Prepared],
        send: Callable[[EmailMessage], None],
        recipients: Sequence[str],
        instance: str,
        retry_for: timedelta = timedelta(hours=2),
        first_delay: timedelta = timedelta(minutes=1),
        max_delay: timedelta = timedelta(minutes=30),
        lease: timedelta = timedelta(minutes=10),
        on_failed: Callable[[str, int, str, datetime], None] | None = None,
        on_sent: Callable[[str, datetime], None] | None = None,
    ) -> None:
        self.job = job
        self.site_id = site_id
        self.sessions = sessions
        self.clock = clock
        self.due = due
        self.prepare = prepare
        self.send = send
        self.recipients = list(recipients)
        self.instance = instance
        self.retry_for = retry_for
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.lease = lease
        self.on_failed = on_failed
        self.on_sent = on_sent
        self._lock = threading.Lock()
        self.last_outcome: Outcome | None = None  # for status pages and tests

    def backoff(self, attempts: int) -> timedelta:
        """Delay after the n-th failed attempt: 1, 2, 4, 8 ... times the first delay, capped."""
        delay: timedelta = self.first_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.max_delay)

    # ------------------------------------------------------------------ the one entry point
    def tick(self) -> Outcome:
        """Send if due and nobody has; retry if a failed send is due again. Safe to call any time."""
        if not self._lock.acquire(blocking=False):
            return Outcome("busy")
        try:
            self.last_outcome = outcome = self._tick()
            return outcome
        finally:
            self._lock.release()

    def _tick(self) -> Outcome:
        try:
            now = self.clock()
            period = self.due(now)
            if period is None:
                return Outcome("not_due")
            claim = self.claim(period, now)
            if isinstance(claim, Outcome):
                return claim
            return self.attempt(claim, period, now)
        except Exception as exc:  # noqa: BLE001 - a scheduler job must not die; the next tick tries again
            log.exception("%s job failed before sending", self.job)
            return Outcome("error", error=str(exc))

    # ------------------------------------------------------------------ claiming
    def claim(self, period: str, now: datetime) -> int | Outcome:
        """The claim's id when this caller may send now; otherwise why not."""
        with self.sessions() as session:
            try:
                row = JobClaim(
                    job=self.job, site_id=self.site_id, period=period, state=STATE_SENDING, attempts=0,
                    claimed_by=self.instance, claimed_at=now, recipients=list(self.recipients),
                    details={"first_attempt_at": _iso(now)},
                )
                session.add(row)
                session.commit()
                return row.id
            except IntegrityError:
                session.rollback()
            existing = session.scalars(
                select(JobClaim).where(
                    JobClaim.job == self.job, JobClaim.site_id == self.site_id, JobClaim.period == period
                )
            ).one()
            if existing.state in (STATE_SENT, STATE_FAILED):
                return Outcome("done", period, existing.attempts)
            if existing.state == STATE_RETRYING:
                next_at = _parse((existing.details or {}).get("next_attempt_at"))
                if next_at is not None and now < next_at:
                    return Outcome("waiting", period, existing.attempts)
            elif existing.claimed_at > now - self.lease:
                return Outcome("busy", period, existing.attempts)  # someone is sending right now
            else:
                log.warning(
                    "%s %s: taking over a send by %s that stopped at %s",
                    self.job, period, existing.claimed_by, existing.claimed_at.isoformat(),
                )
            result = session.execute(
                update(JobClaim)
                .where(
                    JobClaim.id == existing.id,
                    JobClaim.state == existing.state,
                    JobClaim.attempts == existing.attempts,
                    JobClaim.claimed_by == existing.claimed_by,
                )
                .values(state=STATE_SENDING, claimed_by=self.instance, claimed_at=now)
            )
            taken = int(getattr(result, "rowcount", 0))
            session.commit()
            if taken != 1:
                return Outcome("busy", period, existing.attempts)
            return existing.id

    # ------------------------------------------------------------------ sending
    def attempt(self, claim_id: int, period: str, now: datetime, *, final: bool = False) -> Outcome:
        """One send; on failure either schedule the next try or (after retry_for, or `final`) give up."""
        with self.sessions() as session:
            row = session.get(JobClaim, claim_id)
            assert row is not None
            details = dict(row.details or {})
            attempts = row.attempts + 1
            first = _parse(details.get("first_attempt_at")) or now
            error = ""
            try:
                prepared = self.prepare(period, now)
                details.update(prepared.details)
                self.send(prepared.message)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded and retried
                error = str(exc) or type(exc).__name__
            finished = self.clock()
            row.attempts = attempts
            row.recipients = list(self.recipients)
            if not error:
                row.state = STATE_SENT
                row.finished_at = finished
                row.last_error = ""
                details.pop("next_attempt_at", None)
                row.details = details
                session.commit()
                log.info("%s %s sent", self.job, period, extra={"attempts": attempts, "site": self.site_id})
                if self.on_sent is not None:
                    self.on_sent(period, finished)
                return Outcome("sent", period, attempts)
            row.last_error = error[:2000]
            if final or finished - first >= self.retry_for:
                row.state = STATE_FAILED
                row.finished_at = finished
                details.pop("next_attempt_at", None)
                row.details = details
                session.commit()
                log.error("%s %s failed for good after %d attempts: %s", self.job, period, attempts, error)
                if self.on_failed is not None:
                    self.on_failed(period, attempts, error, finished)
                return Outcome("failed", period, attempts, error)
            delay = self.backoff(attempts)
            details["next_attempt_at"] = _iso(finished + delay)
            row.state = STATE_RETRYING
            row.details = details
            session.commit()
            log.warning(
                "%s %s attempt %d failed, retrying in %ds: %s",
                self.job, period, attempts, int(delay.total_seconds()), error,
            )
            return Outcome("retrying", period, attempts, error)
