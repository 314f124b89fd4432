"""The weekly report for the API (api.ports.WeeklyReports), kept apart from app_services.py.

The runtime hands in ``weekly_builder(session, week)`` (agent.jobs.weekly.weekly_summary_for with
its config) and the site's time zone; without them the page says the report is not set up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.reports.advice import iso_week_bounds, last_week
from agent.reports.advice_render import Suggestion, suggestions
from agent.reports.weekly import WeeklySummary
from api.ports import InvalidError, NotFoundError


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    week: str
    previous: str
    next: str | None  # None for last week (nothing after it is complete)
    summary: WeeklySummary
    suggestions: list[Suggestion]


def _shift(week: str, timezone: str, weeks: int) -> str:
    start, _ = iso_week_bounds(week, timezone)
    year, number, _ = (start + timedelta(days=7 * weeks, hours=12)).isocalendar()
    return f"{year}-W{number:02d}"


class WeeklyReportServices:
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    weekly_builder: Callable[[Session, str], WeeklySummary] | None = None
    weekly_timezone: str = "UTC"

    def weekly_report(self, week: str | None) -> Any:
        if self.weekly_builder is None:
            raise NotFoundError("the weekly report is not set up in this process")
        newest = last_week(self.clock(), self.weekly_timezone)
        chosen = week or newest
        try:
            iso_week_bounds(chosen, self.weekly_timezone)
        except ValueError as exc:
            raise InvalidError("week", str(exc)) from None
        if chosen > newest and len(chosen) == len(newest):
            raise InvalidError("week", f"{chosen} is not over yet; the latest whole week is {newest}")
        with self.sessions() as session:
            summary = self.weekly_builder(session, chosen)
        assert summary.advice is not None
        return WeeklyReport(
            week=chosen, previous=_shift(chosen, self.weekly_timezone, -1),
            next=None if chosen == newest else _shift(chosen, self.weekly_timezone, 1),
            summary=summary, suggestions=suggestions(summary.advice),
        )
