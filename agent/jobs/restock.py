"""The nightly restock email: a cron trigger at the site's local time (06:00 by default), a
start-up catch-up and a once-a-minute check that also drives retries. All three call the same
idempotent ``OnceReport.tick``; the job_claims row makes sure one email goes out per site and day."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from agent.config.model import AgentConfig, SmtpConfig
from agent.inventory.supply_rules import REPORT_FAILED_RULE, REPORT_METRIC, REPORT_SUBJECT
from agent.jobs.once import OnceReport, Outcome, Prepared
from agent.notify.email import send_message, smtp_password
from agent.pipeline import Pipeline
from agent.reports.restock_email import build_restock_email
from agent.services.supplies import RESTOCK_JOB, restock_list
from rules.reading import Reading

log = logging.getLogger(__name__)


def parse_at(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def daily_due(timezone: str, at: time) -> Callable[[datetime], str | None]:
    """The site's local date once its local time has reached `at` (so a late start catches up the same day)."""
    zone = ZoneInfo(timezone)

    def due(now: datetime) -> str | None:
        local = now.astimezone(zone)
        return local.date().isoformat() if local.time() >= at else None

    return due


def smtp_sender(smtp: SmtpConfig) -> Callable[[EmailMessage], None]:
    def send(message: EmailMessage) -> None:
        send_message(smtp, message, password=smtp_password(smtp))

    return send


def instance_name() -> str:
    return f"{socket.gethostname()}:{id(object()):x}"


def report_alert_callbacks(
    pipeline: Pipeline | None,
) -> tuple[Callable[[str, int, str, datetime], None] | None, Callable[[str, datetime], None] | None]:
    """A final failure opens the coordinator's alert (restock-report-failed); a later success clears it."""
    if pipeline is None:
        return None, None

    def failed(period: str, attempts: int, error: str, at: datetime) -> None:
        if REPORT_FAILED_RULE not in pipeline.engine.rules:
            log.error("rule %s is not loaded; the failed restock report raises no alert", REPORT_FAILED_RULE)
        pipeline.submit([_report_reading(float(attempts), at, period)])

    def sent(period: str, at: datetime) -> None:
        pipeline.submit([_report_reading(0.0, at, period)])

    return failed, sent


def _report_reading(value: float, at: datetime, period: str) -> Reading:
    return Reading(subject=REPORT_SUBJECT, metric=REPORT_METRIC, value=value, ts=at, source=f"job:{RESTOCK_JOB}:{period}")


def make_restock_job(
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    pipeline: Pipeline | None = None,
    send: Callable[[EmailMessage], None] | None = None,
    instance: str | None = None,
    first_delay: timedelta = timedelta(minutes=1),
    max_delay: timedelta = timedelta(minutes=30),
) -> OnceReport:
    settings = config.notifications.restock_report
    smtp = config.notifications.smtp
    recipients = list(settings.recipients)

    def prepare(period: str, now: datetime) -> Prepared:
        lines = restock_list(sessions, now=now, site_id=config.site.id)
        message = build_restock_email(
            lines,
            site_id=config.site.id,
            site_name=config.site.name,
            day=date.fromisoformat(period),
            sender=smtp.sender,
            recipients=recipients,
        )
        return Prepared(message, {"lines": len(lines), "units": sum(line.quantity for line in lines)})

    failed, sent = report_alert_callbacks(pipeline)
    return OnceReport(
        job=RESTOCK_JOB,
        site_id=config.site.id,
        sessions=sessions,
        clock=clock,
        due=daily_due(config.site.timezone, parse_at(settings.at)),
        prepare=prepare,
        send=send or smtp_sender(smtp),
        recipients=recipients,
        instance=instance or instance_name(),
        retry_for=settings.retry_for,
        first_delay=first_delay,
        max_delay=max_delay,
        on_failed=failed,
        on_sent=sent,
    )


def add_report_jobs(
    scheduler: Any,
    report: OnceReport,
    *,
    job_id: str,
    cron: CronTrigger,
    check_every: timedelta,
) -> None:
    """The cron trigger, a catch-up run right away, and a periodic check (retries and late starts)."""
    common: dict[str, Any] = {"coalesce": True, "max_instances": 1, "replace_existing": True}
    scheduler.add_job(report.tick, cron, id=job_id, name=job_id, misfire_grace_time=3600, **common)
    scheduler.add_job(
        report.tick, IntervalTrigger(seconds=max(check_every.total_seconds(), 1.0)),
        id=f"{job_id}-check", name=f"{job_id} catch-up and retries", misfire_grace_time=60, **common,
    )
    scheduler.add_job(
        report.tick, DateTrigger(), id=f"{job_id}-startup", name=f"{job_id} catch-up at start",
        misfire_grace_time=None, **common,
    )


def schedule_restock_jobs(
    scheduler: Any,
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    pipeline: Pipeline | None,
    clock: Callable[[], datetime],
    check_every: timedelta = timedelta(minutes=1),
    send: Callable[[EmailMessage], None] | None = None,
) -> list[OnceReport]:
    """Schedule the nightly restock email and the weekly summary (for the runtime)."""
    reports: list[OnceReport] = []
    settings = config.notifications.restock_report
    tz = ZoneInfo(config.site.timezone)
    if settings.enabled and settings.recipients:
        report = make_restock_job(
            config=config, sessions=sessions, clock=clock, pipeline=pipeline, send=send,
            first_delay=settings.retry_after,
        )
        at = parse_at(settings.at)
        add_report_jobs(
            scheduler, report, job_id=RESTOCK_JOB,
            cron=CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            check_every=min(check_every, settings.retry_after),  # a retry is looked at when due
        )
        reports.append(report)
    elif settings.enabled:
        log.warning("no recipients for the restock report (notifications.restock_report.recipients): not scheduled")
    from agent.jobs.weekly import schedule_weekly_job

    weekly = schedule_weekly_job(
        scheduler, config=config, sessions=sessions, clock=clock, check_every=check_every, send=send
    )
    if weekly is not None:
        reports.append(weekly)
    return reports


def send_report_now(
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    day: date,
    now: datetime,
    send: Callable[[EmailMessage], None] | None = None,
) -> Outcome:
    """Send the restock email for `day` now (the CLI's --send), once, without retries.

    It takes the day's claim when nobody has, so the nightly job won't send it again; when the
    day was already sent or failed, it sends anyway (a person asked) and records that on the claim.
    """
    from sqlalchemy import select

    from agent.storage.models import JobClaim

    report = make_restock_job(
        config=config, sessions=sessions, clock=lambda: now, send=send, instance=f"cli:{instance_name()}"
    )
    period = day.isoformat()
    claim = report.claim(period, now)
    if isinstance(claim, int):
        return report.attempt(claim, period, now, final=True)
    # Already claimed by the nightly job (sent, failed, or being retried): a person asked, so send.
    prepared = report.prepare(period, now)
    error = ""
    try:
        report.send(prepared.message)
    except Exception as exc:  # noqa: BLE001 - reported to the person
        error = str(exc) or type(exc).__name__
    with sessions() as session:
        row = session.scalars(
            select(JobClaim).where(
                JobClaim.job == RESTOCK_JOB, JobClaim.site_id == config.site.id, JobClaim.period == period
            )
        ).one()
        details = dict(row.details or {})
        details["manual_sends"] = [*details.get("manual_sends", []), {"at": now.isoformat(), "error": error}]
        row.details = details
        row.attempts += 1
        if not error:
            row.state = "sent"
            row.last_error = ""
            row.finished_at = now
        session.commit()
    return Outcome("sent" if not error else "failed", period, row.attempts, error)
