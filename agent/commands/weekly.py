"""`facility-agent weekly-summary [--week YYYY-Www] [--send]`: print a week's summary and what to
change (default: last whole week in the site's time zone), or email it now."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.clock import utc_now
from agent.config import AgentConfig


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "weekly-summary",
        help="print the weekly summary and what to change (last week by default); --send emails it now",
    )
    parser.add_argument("--week", help="the ISO week, e.g. 2026-W05 (default: last whole week)")
    parser.add_argument(
        "--send", action="store_true",
        help="email it to the weekly summary's recipients now (the scheduled Monday email is not affected)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, config: AgentConfig, *, clock: Any = utc_now) -> int:
    from agent.jobs.restock import smtp_sender
    from agent.jobs.weekly import weekly_summary_for
    from agent.reports.advice import iso_week_bounds, last_week
    from agent.reports.weekly import build_weekly_email, weekly_text
    from agent.storage.db import create_db_engine, session_factory
    from agent.storage.migrate import is_current

    week = args.week or last_week(clock(), config.site.timezone)
    try:
        iso_week_bounds(week, config.site.timezone)
    except ValueError as exc:
        print(f"error: --week: {exc}", file=sys.stderr)
        return 2
    db = create_db_engine(config.database_url())
    try:
        if not is_current(db):
            print("error: the database is not set up or not current; run 'facility-agent db upgrade'", file=sys.stderr)
            return 2
        with session_factory(db)() as session:
            summary = weekly_summary_for(session, config, week=week)
        sys.stdout.write(weekly_text(summary))
        if not args.send:
            return 0
        recipients = list(config.notifications.weekly_summary.recipients or config.notifications.coordinator_emails)
        if not recipients:
            print("error: no recipients: set notifications.weekly_summary.recipients or coordinator_emails", file=sys.stderr)
            return 2
        message = build_weekly_email(summary, sender=config.notifications.smtp.sender, recipients=recipients,
                                     site_id=config.site.id)
        try:
            smtp_sender(config.notifications.smtp)(message)
        except Exception as exc:  # noqa: BLE001 - reported to the person
            print(f"error: sending failed: {exc or type(exc).__name__}", file=sys.stderr)
            return 1
        print(f"sent to {', '.join(recipients)}", file=sys.stderr)
        return 0
    finally:
        db.dispose()
