"""Named time windows in the site's time zone ("mon-fri 07:00-19:00", "holidays 00:00-24:00"):
is a moment inside, when does the window next open, and how much open time lies between two
moments. Times are local wall-clock times, so a window keeps its hours across DST changes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"
_ENTRY = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
_HORIZON_DAYS = 400  # a window that doesn't open within this is treated as never opening


class WindowError(ValueError):
    """A window entry that can't be read; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class Span:
    """One entry: on these weekdays (or on holidays) from start to end local time; end <= start
    runs past midnight into the next day."""

    weekdays: frozenset[int]
    holidays: bool
    start: time
    end_minutes: int  # minutes after the start day's midnight (may exceed 24 h)

    def starts_on(self, day: date, holiday: bool) -> bool:
        return holiday if self.holidays else (not holiday and day.weekday() in self.weekdays)


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise WindowError(f"'{text}' is not a time of day; write HH:MM between 00:00 and 24:00")
    return h * 60 + m


def _days(text: str) -> tuple[frozenset[int], bool]:
    if text == "holidays":
        return frozenset(), True
    if text == "daily":
        return frozenset(range(7)), False
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise WindowError(f"'{part}' is not a day; use mon..sun, a range like mon-fri, 'daily' or 'holidays'")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(found), False


def parse_span(text: str) -> Span:
    match = _ENTRY.match(text.lower())
    if match is None:
        raise WindowError(f"'{text}' is not a window entry; write it like 'mon-fri 07:00-19:00'")
    weekdays, holidays = _days(match["days"])
    start, end = _minutes(match["start"]), _minutes(match["end"])
    if start == 24 * 60:
        raise WindowError(f"'{text}' starts at 24:00; start at 00:00 instead")
    if end <= start:
        end += 24 * 60  # runs past midnight
    return Span(weekdays, holidays, time(start // 60, start % 60), end)


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    spans: tuple[Span, ...]
    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()
    always: bool = False

    def _intervals(self, first: date, last: date) -> Iterable[tuple[datetime, datetime]]:
        """Open intervals (UTC) that start on local days first..last."""
        day = first
        while day <= last:
            holiday = day in self.holidays
            for span in self.spans:
                if span.starts_on(day, holiday):
                    start = datetime.combine(day, span.start, tzinfo=self.zone)
                    end_day = day + timedelta(days=span.end_minutes // (24 * 60))
                    rest = span.end_minutes % (24 * 60)
                    end = datetime.combine(end_day, time(rest // 60, rest % 60), tzinfo=self.zone)
                    yield start.astimezone(UTC), end.astimezone(UTC)
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(self.zone).date()
        return any(s <= at < e for s, e in self._intervals(local - timedelta(days=2), local))

    def next_open(self, at: datetime) -> datetime | None:
        """``at`` itself when open, else the next moment the window opens (None: never)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.zone).date()
        for offset in range(_HORIZON_DAYS):
            day = local + timedelta(days=offset)
            starts = sorted(s for s, _ in self._intervals(day, day) if s > at)
            if starts:
                return starts[0]
        return None

    def open_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How long the window is open between start and end (for escalation clocks)."""
        if self.always or end <= start:
            return max(end - start, timedelta(0))
        first = start.astimezone(self.zone).date() - timedelta(days=2)
        last = end.astimezone(self.zone).date()
        merged: list[tuple[datetime, datetime]] = []
        for s, e in sorted(self._intervals(first, last)):
            s, e = max(s, start), min(e, end)
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return sum((e - s for s, e in merged), timedelta(0))


def build_window(name: str, entries: Sequence[str], zone: str, holidays: Iterable[date] = ()) -> Window:
    """A window from its config entries; the single entry 'always' means every moment."""
    tz = ZoneInfo(zone)
    if [e.strip().lower() for e in entries] == [ALWAYS]:
        return Window(name, (), tz, frozenset(holidays), always=True)
    return Window(name, tuple(parse_span(e) for e in entries), tz, frozenset(holidays))
