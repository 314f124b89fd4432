"""The weekly summary email: once per site and ISO week, on the configured day and time (site's
local time), with the same claim, catch-up (same day) and retries as the restock email."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from agent.config.model import AgentConfig
from agent.jobs.once import OnceReport, Prepared
from agent.jobs.restock import add_report_jobs, instance_name, parse_at, smtp_sender
from agent.reports.advice import AdviceSettings, iso_week_bounds, last_week
from agent.reports.weekly import WeeklySummary, build_weekly_email, build_weekly_summary

log = logging.getLogger(__name__)

WEEKLY_JOB = "weekly-summary"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly_due(timezone: str, day: str, at: time) -> Callable[[datetime], str | None]:
    zone = ZoneInfo(timezone)
    weekday = DAYS.index(day)

    def due(now: datetime) -> str | None:
        local = now.astimezone(zone)
        if local.weekday() != weekday or local.time() < at:
            return None
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"

    return due


def advice_settings(config: AgentConfig) -> AdviceSettings:
    weekly = config.notifications.weekly_summary
    return AdviceSettings(
        review_days=weekly.review_days, reassign_limit=weekly.reassign_limit, offline_pct=weekly.offline_pct,
        flap_window=config.alerting.flap_window,
    )


def weekly_summary_for(session: Session, config: AgentConfig, *, week: str) -> WeeklySummary:
    """One ISO week's summary with what to change: the email, the page and the CLI all use this."""
    from agent.catalog import build_rules

    return build_weekly_summary(
        session, now=iso_week_bounds(week, config.site.timezone)[1], site_name=config.site.name, timezone=config.site.timezone, week=week,
        rules=build_rules(config), advice_settings=advice_settings(config),
    )


def make_weekly_job(
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    send: Callable[[EmailMessage], None] | None = None,
    instance: str | None = None,
) -> OnceReport:
    settings = config.notifications.weekly_summary
    smtp = config.notifications.smtp
    recipients = list(settings.recipients or config.notifications.coordinator_emails)

    def prepare(period: str, now: datetime) -> Prepared:
        with sessions() as session:
            # The last whole ISO week, so the email matches /reports/weekly?week=... for that week.
            summary = weekly_summary_for(session, config, week=last_week(now, config.site.timezone))
        message = build_weekly_email(summary, sender=smtp.sender, recipients=recipients, site_id=config.site.id)
        return Prepared(message, {"alerts": summary.total_alerts, "suggestions": len(summary.suggestions)})

    return OnceReport(
        job=WEEKLY_JOB,
        site_id=config.site.id,
        sessions=sessions,
        clock=clock,
        due=weekly_due(config.site.timezone, settings.day, parse_at(settings.at)),
        prepare=prepare,
        send=send or smtp_sender(smtp),
        recipients=recipients,
        instance=instance or instance_name(),
        retry_for=config.notifications.restock_report.retry_for,
    )


def schedule_weekly_job(
    scheduler: Any,
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    check_every: timedelta = timedelta(minutes=1),
    send: Callable[[EmailMessage], None] | None = None,
) -> OnceReport | None:
    settings = config.notifications.weekly_summary
    if not settings.enabled:
        return None
    if not (settings.recipients or config.notifications.coordinator_emails):
        log.warning("no recipients for the weekly summary (weekly_summary.recipients or coordinator_emails)")
        return None
    report = make_weekly_job(config=config, sessions=sessions, clock=clock, send=send)
    at = parse_at(settings.at)
    add_report_jobs(
        scheduler,
        report,
        job_id=WEEKLY_JOB,
        cron=CronTrigger(day_of_week=settings.day, hour=at.hour, minute=at.minute, timezone=ZoneInfo(config.site.timezone)),
        check_every=check_every,
    )
    return report
