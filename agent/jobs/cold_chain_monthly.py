"""The monthly cold-chain report: each cold-chain unit's evidence PDF for the previous month,
emailed to its team, once per unit and month across restarts and agents (job_claims through
OnceReport, the same way the nightly restock email runs once)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from agent.commands.evidence import month_period, previous_month
from agent.config.model import AgentConfig
from agent.jobs.once import OnceReport, Prepared
from agent.jobs.restock import add_report_jobs, instance_name, parse_at, smtp_sender
from agent.notify.email import Attachment, build_message
from rules.model import Subject

log = logging.getLogger(__name__)


def job_name(unit: str) -> str:
    """job_claims.job holds 60 characters: long unit ids keep a prefix and a hash."""
    name = f"cold-chain-report:{unit}"
    if len(name) <= 60:
        return name
    return f"{name[:51]}-{hashlib.sha1(unit.encode()).hexdigest()[:8]}"


def monthly_due(timezone: str, day: int, at: time) -> Callable[[datetime], str | None]:
    """The previous month (YYYY-MM) once the local date and time reach `day` `at`; a late
    start later in the month still sends it (catch-up)."""
    zone = ZoneInfo(timezone)

    def due(now: datetime) -> str | None:
        local = now.astimezone(zone)
        if (local.day, local.time()) < (day, at):
            return None
        return previous_month(now, zone)

    return due


def unit_recipients(config: AgentConfig, subject: Subject) -> list[str]:
    team = config.teams.get(subject.team)
    extra = list(config.notifications.cold_chain_report.recipients)
    return list(dict.fromkeys((team.emails if team else []) + extra))


def make_unit_job(
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    subject: Subject,
    send: Callable[[EmailMessage], None] | None = None,
    instance: str | None = None,
) -> OnceReport:
    from agent.cold_chain import history_service

    settings = config.notifications.cold_chain_report
    smtp = config.notifications.smtp
    zone = ZoneInfo(config.site.timezone)
    recipients = unit_recipients(config, subject)
    history = history_service(config, sessions, clock)

    def prepare(period: str, now: datetime) -> Prepared:
        start, end = month_period(period, zone)
        pdf = history.evidence_pdf(subject.id, start=start, end=end)
        message = build_message(
            sender=smtp.sender,
            recipients=recipients,
            subject=f"Temperature record {period}: {subject.display_name} ({config.site.name})",
            text=(
                f"The cold-chain record of {subject.display_name} in {subject.location or 'its location'} for {period} "
                "is attached: chart, daily minimum and maximum, time in range, mean kinetic temperature, every "
                "excursion and every alert with its corrective action.\n\nfacility-agent"
            ),
            attachments=[Attachment(f"{subject.id}-{period}.pdf", pdf, "application", "pdf")],
        )
        return Prepared(message, {"unit": subject.id, "bytes": len(pdf)})

    return OnceReport(
        job=job_name(subject.id),
        site_id=config.site.id,
        sessions=sessions,
        clock=clock,
        due=monthly_due(config.site.timezone, settings.day, parse_at(settings.at)),
        prepare=prepare,
        send=send or smtp_sender(smtp),
        recipients=recipients,
        instance=instance or instance_name(),
        retry_for=settings.retry_for,
    )


def schedule_cold_chain_reports(
    scheduler: Any,
    *,
    config: AgentConfig,
    sessions: sessionmaker[Session],
    subjects: Mapping[str, Subject],
    clock: Callable[[], datetime],
    check_every: timedelta = timedelta(minutes=5),
    send: Callable[[EmailMessage], None] | None = None,
) -> list[OnceReport]:
    from agent.cold_chain import cold_chain_units

    settings = config.notifications.cold_chain_report
    if not settings.enabled:
        return []
    at = parse_at(settings.at)
    reports = []
    for unit in cold_chain_units(config, subjects):
        subject = subjects[unit]
        if not unit_recipients(config, subject):
            log.warning("no recipients for %s's monthly cold-chain report (its team's emails): not scheduled", unit)
            continue
        report = make_unit_job(config=config, sessions=sessions, clock=clock, subject=subject, send=send)
        add_report_jobs(
            scheduler, report, job_id=report.job,
            cron=CronTrigger(day=settings.day, hour=at.hour, minute=at.minute, timezone=ZoneInfo(config.site.timezone)),
            check_every=check_every,
        )
        reports.append(report)
    return reports
