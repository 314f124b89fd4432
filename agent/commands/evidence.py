"""`facility-agent evidence EQUIPMENT-ID --month YYYY-MM --out FILE.pdf`: a unit's cold-chain
evidence file for one month (or --from/--to days), as PDF or, with --csv, the readings."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.clock import utc_now
from agent.config import AgentConfig


def register(sub: Any) -> None:
    parser = sub.add_parser("evidence", help="a unit's temperature record for an inspector (PDF, or CSV of readings)")
    parser.add_argument("equipment", metavar="EQUIPMENT-ID")
    parser.add_argument("--month", help="YYYY-MM, in the site's time zone (default: last month)")
    parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (instead of --month)")
    parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD, included")
    parser.add_argument("--out", type=Path, required=True, help="the file to write, e.g. fridge-2-2026-11.pdf")
    parser.add_argument("--csv", action="store_true", help="write the readings as CSV instead of the PDF")
    parser.set_defaults(func=run)


def month_period(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    following = date(year + (number == 12), number % 12 + 1, 1)
    return datetime.combine(first, time(), zone), datetime.combine(following, time(), zone)


def previous_month(now: datetime, zone: ZoneInfo) -> str:
    first = now.astimezone(zone).date().replace(day=1)
    last = first - timedelta(days=1)
    return f"{last:%Y-%m}"


def _period(args: argparse.Namespace, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    if args.start:
        first = date.fromisoformat(args.start)
        last = date.fromisoformat(args.end) if args.end else now.astimezone(zone).date()
        return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)
    return month_period(args.month or previous_month(now, zone), zone)


def run(args: argparse.Namespace, config: AgentConfig, *, clock: Any = utc_now) -> int:
    from agent.cold_chain import history_service
    from agent.storage.db import create_db_engine, session_factory
    from agent.storage.migrate import is_current
    from api.ports import InvalidError, NotFoundError

    zone = ZoneInfo(config.site.timezone)
    try:
        start, end = _period(args, zone, clock())
    except ValueError:
        print("error: give --month as YYYY-MM, or --from/--to as YYYY-MM-DD", file=sys.stderr)
        return 2
    db = create_db_engine(config.database_url())
    try:
        if not is_current(db):
            print("error: the database is not set up or not current; run 'facility-agent db upgrade'", file=sys.stderr)
            return 2
        history = history_service(config, session_factory(db), clock)
        try:
            if args.csv:
                body = history.evidence_csv(args.equipment, start=start, end=end).encode()
            else:
                body = history.evidence_pdf(args.equipment, start=start, end=end)
        except (NotFoundError, InvalidError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.out.write_bytes(body)
        print(f"{args.out}: {args.equipment}, {start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}", file=sys.stderr)
        return 0
    finally:
        db.dispose()
