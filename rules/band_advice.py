"""For a rule that flapped: replay its readings with a wider clearing band, or with a hold time,
and find the smallest change that removes most of the flaps. Pure.

"Most of the flaps" is more than half of them; a flap is an alert that opened within an hour of
the one before clearing. A wider clearing band is never widened so far that an alert would stay
open for good.

The replay follows the engine's threshold semantics: a reading outside the firing band starts a
pending alert; the alert opens once the condition has held for ``hold`` (at since + hold, as the
engine's tick does); a reading inside the clearing band cancels a pending alert or clears an open
one; between the two bands nothing changes (hysteresis).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

HOLD_CANDIDATES = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 20, 30, 45, 60))
FLAP_WINDOW = timedelta(hours=1)  # an alert that opens this soon after the last one cleared is a flap


@dataclass(frozen=True, slots=True)
class Band:
    """A threshold rule's firing and clearing band (one side or both)."""

    fire_low: float = -math.inf
    fire_high: float = math.inf
    clear_low: float = -math.inf
    clear_high: float = math.inf
    low_inclusive: bool = False
    high_inclusive: bool = False
    hold: timedelta = timedelta(0)

    def fires(self, v: float) -> bool:
        low = v <= self.fire_low if self.low_inclusive else v < self.fire_low
        high = v >= self.fire_high if self.high_inclusive else v > self.fire_high
        return low or high

    def clears(self, v: float) -> bool:
        return self.clear_low <= v <= self.clear_high


@dataclass(frozen=True, slots=True)
class Episode:
    opened: datetime
    cleared: datetime | None  # None: still open at the last reading


def replay(readings: Sequence[tuple[datetime, float]], band: Band) -> list[Episode]:
    """The alerts these readings (in time order) would have opened under this band."""
    out: list[Episode] = []
    since: datetime | None = None  # condition began (pending or open)
    opened: datetime | None = None
    for at, value in readings:
        if since is not None and opened is None and at >= since + band.hold:
            opened = since + band.hold  # the hold ran out before this reading (the engine's tick)
        if band.clears(value):
            if opened is not None:
                out.append(Episode(opened, at))
            since, opened = None, None
            continue
        if since is None and band.fires(value):
            since = at
            if band.hold <= timedelta(0):
                opened = at
    if since is not None and opened is not None:
        out.append(Episode(opened, None))
    return out


@dataclass(frozen=True, slots=True)
class BandChange:
    kind: str  # "clear" (clearing threshold) or "hold"
    band: Band
    threshold: float | None  # the new clearing threshold (kind "clear")
    hold: timedelta | None  # the new hold time (kind "hold")
    alerts_before: int
    alerts_after: int
    delayed: int  # genuine alerts (still raised) that open later
    delay: timedelta  # by how long each (hold) / the longest (clear: how much longer the longest stays open)

    @property
    def removed(self) -> int:
        return self.alerts_before - self.alerts_after


def _clear_candidates(readings: Sequence[tuple[datetime, float]], band: Band) -> tuple[str, list[float]]:
    """Which side to widen, and the candidate thresholds: the readings' own values inside the clearing band."""
    values = sorted({v for _, v in readings})
    if band.fire_high < math.inf and band.clear_high < math.inf:
        return "high", sorted((v for v in values if v < band.clear_high and v > band.clear_low), reverse=True)
    if band.fire_low > -math.inf and band.clear_low > -math.inf:
        return "low", [v for v in values if v > band.clear_low and v < band.clear_high]
    return "", []


def flaps(episodes: Sequence[Episode], window: timedelta = FLAP_WINDOW) -> int:
    """Alerts that opened within ``window`` of the previous one clearing: all but the first of each burst."""
    count = 0
    previous: Episode | None = None
    for e in episodes:
        if previous is not None and (previous.cleared is None or e.opened - previous.cleared <= window):
            count += 1
        previous = e
    return count


def _open_at_end(episodes: Sequence[Episode]) -> int:
    return sum(1 for e in episodes if e.cleared is None)


def suggest_clearing(
    readings: Sequence[tuple[datetime, float]], band: Band, window: timedelta = FLAP_WINDOW
) -> BandChange | None:
    """The clearing threshold closest to the current one that removes most of the flaps, without
    leaving an alert that never clears; None when no threshold removes any."""
    before = replay(readings, band)
    side, candidates = _clear_candidates(readings, band)
    options: list[tuple[float, Band, list[Episode]]] = []
    for threshold in candidates:
        wider = replace(band, clear_high=threshold) if side == "high" else replace(band, clear_low=threshold)
        after = replay(readings, wider)
        if _open_at_end(after) > _open_at_end(before):
            break  # wider still would leave an alert open for good
        options.append((threshold, wider, after))
    return _pick("clear", band, before, options, flaps(before, window))


def suggest_hold(
    readings: Sequence[tuple[datetime, float]], band: Band, window: timedelta = FLAP_WINDOW
) -> BandChange | None:
    """The shortest hold time that removes most of the flaps; None when none removes any."""
    before = replay(readings, band)
    options: list[tuple[timedelta, Band, list[Episode]]] = []
    for hold in HOLD_CANDIDATES:
        if hold <= band.hold:
            continue
        longer = replace(band, hold=hold)
        options.append((hold, longer, replay(readings, longer)))
    return _pick("hold", band, before, options, flaps(before, window))


def _pick(
    kind: str, current: Band, before: list[Episode], options: Sequence[tuple[float | timedelta, Band, list[Episode]]],
    flapped: int,
) -> BandChange | None:
    """The smallest change (candidates run from the smallest to the largest) that removes more
    than half of the flaps."""
    if flapped <= 0:
        return None
    for value, band, after in options:
        if 2 * (len(before) - len(after)) > flapped:
            threshold = value if isinstance(value, float) else None
            hold = value if isinstance(value, timedelta) else None
            delayed, delay = (len(after), band.hold - current.hold) if hold is not None else _longer_open(before, after)
            return BandChange(kind, band, threshold, hold, len(before), len(after), delayed, delay)
    return None


def _longer_open(before: Sequence[Episode], after: Sequence[Episode]) -> tuple[int, timedelta]:
    """A wider clearing band opens nothing later (0 delayed); the alerts that remain stay open
    longer: by up to this much (each one's clearing against the first of the alerts it absorbed)."""
    longest = timedelta(0)
    for e in after:
        if e.cleared is None:
            continue
        inside = [b for b in before if e.opened <= b.opened <= e.cleared and b.cleared is not None]
        if inside and inside[0].cleared is not None:
            longest = max(longest, e.cleared - inside[0].cleared)
    return 0, longest
