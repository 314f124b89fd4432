"""`facility-agent restock-report [--send] [--date YYYY-MM-DD]`: print the restock list, or email it now."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.clock import utc_now
from agent.config import AgentConfig


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "restock-report",
        help="print today's restock list (what to order, grouped by vendor and storeroom); --send emails it now",
    )
    parser.add_argument("--send", action="store_true", help="email it to the restock report's recipients now")
    parser.add_argument("--date", help="the report's date, YYYY-MM-DD (default: today in the site's time zone)")
    parser.add_argument("--csv", action="store_true", help="print CSV instead of text")
    parser.set_defaults(func=run)


def _day(text: str | None, config: AgentConfig, now: datetime) -> date:
    if not text:
        return now.astimezone(ZoneInfo(config.site.timezone)).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: --date must be YYYY-MM-DD, got {text!r}") from None


def run(args: argparse.Namespace, config: AgentConfig, *, clock: Any = utc_now) -> int:
    from agent.reports.restock_email import restock_text
    from agent.services.supplies import restock_csv, restock_list
    from agent.storage.db import create_db_engine, session_factory
    from agent.storage.migrate import is_current

    now = clock()
    try:
        day = _day(args.date, config, now)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    db = create_db_engine(config.database_url())
    try:
        if not is_current(db):
            print("error: the database is not set up or not current; run 'facility-agent db upgrade'", file=sys.stderr)
            return 2
        sessions = session_factory(db)
        lines = restock_list(sessions, now=now, site_id=config.site.id)
        if args.csv:
            sys.stdout.write(restock_csv(lines))
        else:
            sys.stdout.write(restock_text(lines, site_name=config.site.name, day=day))
        if not args.send:
            return 0
        recipients = config.notifications.restock_report.recipients
        if not recipients:
            print("error: no recipients: set notifications.restock_report.recipients", file=sys.stderr)
            return 2
        from agent.jobs.restock import send_report_now

        outcome = send_report_now(config=config, sessions=sessions, day=day, now=now)
        if outcome.error:
            print(f"error: sending failed: {outcome.error}", file=sys.stderr)
            return 1
        print(f"sent to {', '.join(recipients)} ({outcome.action})", file=sys.stderr)
        return 0
    finally:
        db.dispose()
