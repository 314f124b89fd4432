"""Durations as people write them in config: ``90``, ``90s``, ``5m``, ``1h30m``, ``2d``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: object) -> timedelta:
    """Parse seconds (a number) or a string of number+unit parts; raise ValueError with the fix."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or text like '90s', '5m', '1h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration can't be negative")
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise ValueError("a duration must be a number of seconds or text like '90s', '5m', '1h'")
    text = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(
            f"{value!r} is not a duration; write e.g. '90s', '5m', '1h30m' or a number of seconds"
        )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Plain words for people: '12 minutes', '1 hour 5 minutes', '40 seconds'."""
    total = int(delta.total_seconds())
    if total < 60:
        return f"{total} second{'s' if total != 1 else ''}"
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    for amount, word in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if amount:
            parts.append(f"{amount} {word}{'s' if amount != 1 else ''}")
    return " ".join(parts[:2])
