"""Named time windows in the site's zone, across both DST changes in Europe/London and America/New_York."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from rules.windows import WindowError, build_window, parse_span

LONDON, NEW_YORK = "Europe/London", "America/New_York"


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


def test_clinic_hours_open_and_close_on_local_time() -> None:
    w = build_window("clinic_hours", ["mon-fri 07:00-19:00"], LONDON)
    assert w.is_open(local(LONDON, 2026, 12, 4, 8, 0))  # a Friday
    assert not w.is_open(local(LONDON, 2026, 12, 4, 19, 0))
    assert not w.is_open(local(LONDON, 2026, 12, 5, 10, 0))  # Saturday
    assert w.next_open(local(LONDON, 2026, 12, 4, 20, 0)) == local(LONDON, 2026, 12, 7, 7, 0)


def test_holidays_close_weekday_entries_and_open_holiday_entries() -> None:
    holidays = [date(2026, 12, 25)]
    clinic = build_window("clinic_hours", ["mon-fri 07:00-19:00"], LONDON, holidays)
    night = build_window("night", ["daily 19:00-07:00", "holidays 00:00-24:00"], LONDON, holidays)
    christmas_noon = local(LONDON, 2026, 12, 25, 12, 0)
    assert not clinic.is_open(christmas_noon) and night.is_open(christmas_noon)
    assert clinic.next_open(christmas_noon) == local(LONDON, 2026, 12, 28, 7, 0)


@pytest.mark.parametrize(
    ("zone", "spring", "autumn"),
    [(LONDON, date(2026, 3, 29), date(2026, 10, 25)), (NEW_YORK, date(2026, 3, 8), date(2026, 11, 1))],
)
def test_both_dst_changes(zone: str, spring: date, autumn: date) -> None:
    night = build_window("night", ["daily 19:00-07:00"], zone)
    clinic = build_window("clinic_hours", ["daily 07:00-19:00"], zone)
    for day, night_hours in ((spring, 11), (autumn, 13)):  # the night the clocks change
        evening = local(zone, (day - timedelta(days=1)).year, (day - timedelta(days=1)).month, (day - timedelta(days=1)).day, 19, 0)
        morning = local(zone, day.year, day.month, day.day, 7, 0)
        assert night.open_time_between(evening - timedelta(hours=1), morning + timedelta(hours=1)) == timedelta(hours=night_hours)
        # the window opens at 07:00 local on the change day, whatever the UTC offset
        opens = clinic.next_open(evening + timedelta(hours=2))
        assert opens is not None and opens.astimezone(ZoneInfo(zone)).hour == 7 and opens == morning.astimezone(UTC)
        # 01:30 local is inside the night on both sides of the change
        assert night.is_open(local(zone, day.year, day.month, day.day, 1, 30))
        assert not night.is_open(local(zone, day.year, day.month, day.day, 12, 0))


def test_bad_entries_say_how_to_write_them() -> None:
    with pytest.raises(WindowError, match="mon-fri 07:00-19:00"):
        parse_span("weekdays 7-19")
    with pytest.raises(WindowError, match="not a day"):
        parse_span("mon-fry 07:00-19:00")
    with pytest.raises(WindowError, match="HH:MM"):
        parse_span("mon 07:00-25:00")
